"""The out-of-fold operating-point search: deterministic folds, honest selection under an FPR budget."""

from __future__ import annotations

from scoring import operating_point as op
from scoring.evaluation import holdout_half
from scoring.rulepack import load_rulepack
from scoring.types import Category, Kind, Reason

PACK = load_rulepack()


def _reason(weight: float) -> Reason:
    return Reason("x", Category.OFF_PLATFORM, weight, "x", (0, 1))


def test_holdout_halves_are_deterministic_and_keep_conversations_together() -> None:
    a = {"id": "m1", "conversation_id": "c9"}
    b = {"id": "m2", "conversation_id": "c9"}
    assert holdout_half(a) == holdout_half(b) == holdout_half(dict(a)) in ("dev", "report")
    halves = {holdout_half({"id": f"x{i}"}) for i in range(50)}
    assert halves == {"dev", "report"}


def test_search_prefers_recall_within_the_fpr_budget() -> None:
    # Scams carry weak rule evidence and a confident model; one honest item has a confident model only.
    samples = [op.FusionSample((_reason(0.35),), 0.97, Kind.MESSAGE, 1, "fr") for _ in range(20)]
    samples += [op.FusionSample((), 0.1, Kind.MESSAGE, 0, "fr") for _ in range(98)]
    samples += [op.FusionSample((), 0.96, Kind.MESSAGE, 0, "fr") for _ in range(2)]
    grid = {
        "model_weight": (0.0, 0.4),
        "model_only_min_p": (0.95, 0.99),
        "model_support_min_rule": (0.0,),
        "warn_message": (0.45,),
        "warn_listing": (0.55,),
    }
    outcomes = op.search(samples, PACK, grid)
    assert len(outcomes) == 4
    chosen = op.best(outcomes, max_fpr=0.01)
    assert chosen is not None
    # The model must add to the weak rule evidence (weight 0.4) but never flag the honest items alone.
    assert chosen.setting.model_weight == 0.4 and chosen.setting.model_only_min_p == 0.99
    assert chosen.recall == 1.0 and chosen.fpr == 0.0
    assert op.best(outcomes, max_fpr=-1.0) is None


def test_denied_samples_never_flag_on_the_model_alone() -> None:
    setting = op.Setting(0.4, 0.9, 0.0, 0.45, 0.55)
    denied = op.FusionSample((), 0.99, Kind.MESSAGE, 0, "fr", denied=True)
    plain = op.FusionSample((), 0.99, Kind.MESSAGE, 0, "fr")
    tuned = op.apply_setting(PACK, setting)
    assert not op.flagged(denied, tuned)
    assert op.flagged(plain, tuned)
