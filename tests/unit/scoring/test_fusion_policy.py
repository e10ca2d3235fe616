"""Fusion (noisy-OR, model blending, sender context) and verdict policy."""

from __future__ import annotations

import dataclasses

import pytest

from scoring.fusion import Fused, context_factor, fuse, noisy_or
from scoring.policy import decide
from scoring.rulepack import load_rulepack
from scoring.types import Category, Kind, Reason, Sender, Verdict

PACK = load_rulepack()


def reason(code: str, category: Category, weight: float) -> Reason:
    return Reason(code=code, category=category, weight=weight, evidence="x", span=(0, 1))


def test_noisy_or() -> None:
    assert noisy_or([]) == 0.0
    assert noisy_or([0.5, 0.5]) == pytest.approx(0.75)
    assert noisy_or([2.0]) == 1.0


def test_same_code_counts_once() -> None:
    r = reason("a", Category.OFF_PLATFORM, 0.5)
    assert fuse([r, r], None, PACK.fusion).rule_score == pytest.approx(0.5)


def test_model_raises_rule_score_but_alone_never_holds() -> None:
    rules = [reason("a", Category.OFF_PLATFORM, 0.5)]
    assert fuse(rules, 0.9, PACK.fusion).score > fuse(rules, None, PACK.fusion).score
    alone = fuse([], 0.99, PACK.fusion)
    assert alone.model_only and alone.score <= PACK.fusion.model_only_cap
    assert decide(alone, Kind.MESSAGE, PACK) is not Verdict.HOLD
    assert fuse([], PACK.fusion.model_only_min_p - 0.01, PACK.fusion).score == 0.0


def test_weak_rule_evidence_does_not_support_the_model() -> None:
    params = dataclasses.replace(PACK.fusion, model_support_min_rule=0.3, model_only_min_p=0.95)
    weak = [reason("phone", Category.OFF_PLATFORM, 0.15)]
    # A lone weak mention plus a fairly confident model stays at the rule score ...
    assert fuse(weak, 0.9, params).score == pytest.approx(0.15)
    # ... and only a model-only-grade probability lifts it, as a capped model-only score.
    lifted = fuse(weak, 0.99, params)
    assert lifted.model_only and lifted.score == pytest.approx(min(params.model_only_cap, 0.99))
    strong = [reason("a", Category.OFF_PLATFORM, 0.5)]
    assert fuse(strong, 0.9, params).score > 0.5


def test_denied_text_gets_no_model_only_score_but_keeps_rule_evidence() -> None:
    assert fuse([], 0.999, PACK.fusion, denied=True).score == 0.0
    rules = [reason("a", Category.OFF_PLATFORM, 0.5)]
    assert fuse(rules, 0.9, PACK.fusion, denied=True).score == fuse(rules, 0.9, PACK.fusion).score


def test_hold_needs_strong_rule_evidence() -> None:
    hold = PACK.thresholds[Kind.MESSAGE].hold
    weak_rules = Fused(score=hold, rule_score=PACK.fusion.hold_min_rule_score / 2, model_p=1.0,
                       by_category={}, model_only=False)  # fmt: skip
    strong_rules = Fused(score=hold, rule_score=PACK.fusion.hold_min_rule_score, model_p=None,
                         by_category={}, model_only=False)  # fmt: skip
    assert decide(weak_rules, Kind.MESSAGE, PACK) is Verdict.REVIEW
    assert decide(strong_rules, Kind.MESSAGE, PACK) is Verdict.HOLD


@pytest.mark.parametrize(
    ("weights", "verdict"),
    [
        ([], Verdict.ALLOW),
        ([0.2], Verdict.ALLOW),
        ([PACK.thresholds[Kind.MESSAGE].warn], Verdict.WARN),  # a weight equal to warn reaches it
        ([0.65], Verdict.REVIEW),
        ([0.9], Verdict.HOLD),
    ],
)
def test_message_thresholds(weights: list[float], verdict: Verdict) -> None:
    reasons = [reason(f"c{i}", Category.EXTERNAL_PAYMENT, w) for i, w in enumerate(weights)]
    assert decide(fuse(reasons, None, PACK.fusion), Kind.MESSAGE, PACK) is verdict


def test_sender_context_adjusts_the_score_not_the_reasons() -> None:
    reasons = [reason("a", Category.EXTERNAL_PAYMENT, 0.5)]
    new = context_factor(Sender(account_age_days=0.5), PACK.context, siret_valid=False)
    pro = context_factor(Sender(is_pro=True, siret="73282932000074"), PACK.context, siret_valid=True)
    base = fuse(reasons, None, PACK.fusion).score
    assert fuse(reasons, None, PACK.fusion, new).score > base > fuse(reasons, None, PACK.fusion, pro).score
    assert fuse([], None, PACK.fusion, new).score == 0.0
    assert context_factor(Sender(is_pro=True), PACK.context, siret_valid=False) == 1.0


def test_the_model_vetoes_moderate_rule_evidence_only() -> None:
    f = PACK.fusion
    assert 0 < f.model_veto_p < 0.5 and 0 < f.model_veto_max_rule <= 1
    moderate = [reason("payment.bank_transfer_only", Category.EXTERNAL_PAYMENT, 0.55)]
    strong = [reason("ato.code_request", Category.ACCOUNT_TAKEOVER, 0.85)]
    sure_honest, unsure = f.model_veto_p / 2, f.model_veto_p * 2
    # Moderate evidence that flags on its own is allowed when the model is sure the text is honest...
    assert decide(fuse(moderate, None, f), Kind.MESSAGE, PACK) is Verdict.WARN
    assert decide(fuse(moderate, sure_honest, f), Kind.MESSAGE, PACK) is Verdict.ALLOW
    # ... not when the model merely doubts, nor when the evidence is strong.
    assert decide(fuse(moderate, unsure, f), Kind.MESSAGE, PACK) is Verdict.WARN
    assert decide(fuse(strong, sure_honest, f), Kind.MESSAGE, PACK) is not Verdict.ALLOW
    # Off (0 / 0): the same moderate evidence flags whatever the model says.
    off = dataclasses.replace(PACK, fusion=dataclasses.replace(f, model_veto_max_rule=0.0, model_veto_p=0.0))
    assert decide(fuse(moderate, sure_honest, off.fusion), Kind.MESSAGE, off) is Verdict.WARN


def test_signals_the_model_cannot_see_are_never_vetoed() -> None:
    f = PACK.fusion
    campaign = [reason("signal.campaign", Category.CAMPAIGN, 0.5)]
    fused = fuse(campaign, f.model_veto_p / 2, f)
    assert decide(fused, Kind.MESSAGE, PACK) is Verdict.ALLOW
    assert decide(fused, Kind.MESSAGE, PACK, vetoable=False) is Verdict.WARN


def test_a_legitimacy_question_is_allowed_unless_signals_are_part_of_the_evidence() -> None:
    f = PACK.fusion
    assert f.asked_allows
    quoted = [
        reason("url.spoofed_domain", Category.SPOOFED_DOMAIN, 0.7),
        reason("securepay.receive_via_link", Category.FAKE_SECURE_PAYMENT, 0.75),
    ]
    fused = fuse(quoted, None, f)
    assert decide(fused, Kind.MESSAGE, PACK) is Verdict.HOLD
    assert decide(fused, Kind.MESSAGE, PACK, asked=True) is Verdict.ALLOW
    # A campaign of the same "question" (or the sender's history) is not the target asking.
    assert decide(fused, Kind.MESSAGE, PACK, vetoable=False, asked=True) is Verdict.HOLD
    # Listings do not ask; the guard is the pack's choice.
    assert decide(fused, Kind.LISTING, PACK, asked=True) is not Verdict.ALLOW
    off = dataclasses.replace(PACK, fusion=dataclasses.replace(f, asked_allows=False))
    assert decide(fused, Kind.MESSAGE, off, asked=True) is Verdict.HOLD


def test_the_model_alone_needs_more_certainty_on_a_bare_link() -> None:
    f = PACK.fusion
    assert f.model_only_min_p < f.model_only_min_p_bare  # the shipped pack: never (above 1)
    assert fuse([], 1.0, f).model_only
    bare = fuse([], 1.0, f, prose=False)
    assert not bare.model_only and bare.score == 0.0
    lower = dataclasses.replace(f, model_only_min_p_bare=0.99)
    assert fuse([], 0.995, lower, prose=False).model_only
    assert not fuse([], 0.98, lower, prose=False).model_only
