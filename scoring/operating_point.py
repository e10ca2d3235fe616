"""Choosing the fusion parameters and thresholds by cross-validation on the TRAINING corpus.

The rule pack's `[fusion]` model parameters and `[thresholds.*].warn` decide how much the text model
may add to rule evidence. Setting them by hand on the same corpus the model was fitted on is
optimistic: in-sample, the model is almost always confidently right. This module measures them
honestly:

1. `out_of_fold_probabilities` trains K text models, each on K-1 folds of the project's training
   corpus (plus, when given, the public training examples, which are never scored here), and
   predicts the held-out fold. Folds keep conversations and near-duplicate texts together
   (`scoring.near_duplicates`): the corpus reuses scripts across conversations, and a twin on the
   training side made out-of-fold scores optimistic.
2. `FusionSample`s hold each item's rule reasons (computed once, by a Scorer without text model) and
   its out-of-fold probability; `evaluate` replays fusion + policy for one parameter setting.
3. `search` walks a small grid and keeps, per setting, recall and honest false-positive rate;
   `best` picks the highest recall whose honest FPR stays within a budget (1% in-sample, to leave
   margin for new authors' phrasing), breaking ties toward the more conservative setting.

Pure: rows in, numbers out. `bench/tune_operating_point.py` is the I/O shell that prints the table.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from scoring.fusion import fuse
from scoring.policy import decide
from scoring.rulepack import RulePack, Thresholds
from scoring.types import Kind, Reason, ScoreInput, Verdict


def out_of_fold_probabilities(
    rows: Sequence[Mapping[str, Any]], extra_examples: Sequence[Any] = (), folds: int = 5
) -> np.ndarray:
    """P(scam) of each training row from a TextModel that never saw that row's conversation, nor a
    near-duplicate of it.

    Each fold's model is trained exactly as `vigie train` trains the shipped one (same examples,
    source balancing and configuration), on the other folds plus `extra_examples` (public training
    examples, always on the training side).
    """
    from scoring import training
    from scoring.model import TextModel

    examples = training.fixture_examples(rows)
    from scoring.near_duplicates import balanced_folds, template_groups

    fold_ids = np.asarray(balanced_folds(template_groups(rows), folds))
    out = np.zeros(len(rows))
    for k in range(folds):
        train = [ex for ex, f in zip(examples, fold_ids, strict=True) if f != k] + list(extra_examples)
        train = training.balance_sources(train, anchor="fixtures", max_share=0.5)
        params, _ = training.fit_linear("text", train, training.TrainConfig())
        model = TextModel(params, {"version": f"oof-{k}"})
        held = np.flatnonzero(fold_ids == k)
        if held.size:
            out[held] = model.predict_many([examples[i].text for i in held])
    return out


@dataclass(frozen=True, slots=True)
class FusionSample:
    """One training item as fusion sees it: rule reasons, the out-of-fold model probability, truth."""

    reasons: tuple[Reason, ...]
    model_p: float
    kind: Kind
    label: int  # 1 = scam
    lang: str | None = None
    denied: bool = False  # the text talks about a scam mechanism while denying/reporting it
    asked: bool = False  # the text asks whether something is legitimate (policy.decide)
    prose: bool = True  # the text is more than a link or an address (fusion.fuse's bare-link bar)


@dataclass(frozen=True, slots=True)
class Setting:
    """The parameters searched: how the model blends in, and the warn threshold per kind."""

    model_weight: float
    model_only_min_p: float
    model_support_min_rule: float
    warn_message: float
    warn_listing: float


@dataclass(frozen=True, slots=True)
class Outcome:
    setting: Setting
    recall: float
    fpr: float
    recall_fr: float | None
    fpr_fr: float | None


def build_samples(
    scorer: Any, inputs: Sequence[ScoreInput], labels: Sequence[int], probabilities: Sequence[float]
) -> list[FusionSample]:
    """FusionSamples from a Scorer WITHOUT text model (rules, links, URL model) and given probabilities."""
    from scoring.detectors import asks_about, build_context, denied, has_prose

    results = scorer.score_many(inputs)
    samples = []
    for item, result, label, p in zip(inputs, results, labels, probabilities, strict=True):
        fields = [("text", item.text)] + ([("title", item.title)] if item.title else [])
        ctxs = [
            build_context(name, item.kind, value, scorer.pack, scorer.matcher, scorer.links)
            for name, value in fields
        ]
        is_denied = any(denied(ctx) for ctx in ctxs)
        asked = any(asks_about(ctx) for ctx in ctxs)
        prose = any(has_prose(ctx) for ctx in ctxs)
        samples.append(
            FusionSample(result.reasons, float(p), item.kind, int(label), item.lang, is_denied, asked, prose)
        )
    return samples


def apply_setting(pack: RulePack, setting: Setting) -> RulePack:
    """`pack` with the setting's fusion parameters and warn thresholds (review/hold kept above warn)."""
    fusion = replace(
        pack.fusion,
        model_weight=setting.model_weight,
        model_only_min_p=setting.model_only_min_p,
        model_support_min_rule=setting.model_support_min_rule,
    )
    thresholds: dict[Kind, Thresholds] = {}
    for kind, warn in ((Kind.MESSAGE, setting.warn_message), (Kind.LISTING, setting.warn_listing)):
        t = pack.thresholds[kind]
        thresholds[kind] = Thresholds(warn, max(warn, t.review), max(warn, t.hold))
    return replace(pack, fusion=fusion, thresholds=thresholds)


def flagged(sample: FusionSample, pack: RulePack) -> bool:
    """Whether fusion + policy under `pack` give this sample a verdict other than allow."""
    fused = fuse(sample.reasons, sample.model_p, pack.fusion, denied=sample.denied, prose=sample.prose)
    return decide(fused, sample.kind, pack, asked=sample.asked) is not Verdict.ALLOW


def _rates(samples: Sequence[FusionSample], flags: Sequence[bool]) -> tuple[float | None, float | None]:
    pos = [f for s, f in zip(samples, flags, strict=True) if s.label == 1]
    neg = [f for s, f in zip(samples, flags, strict=True) if s.label == 0]
    return (sum(pos) / len(pos) if pos else None, sum(neg) / len(neg) if neg else None)


def evaluate(samples: Sequence[FusionSample], pack: RulePack, setting: Setting) -> Outcome:
    """Recall and honest FPR (all languages, and French alone) of one setting."""
    tuned = apply_setting(pack, setting)
    flags = [flagged(s, tuned) for s in samples]
    recall, fpr = _rates(samples, flags)
    fr = [(s, f) for s, f in zip(samples, flags, strict=True) if s.lang == "fr"]
    recall_fr, fpr_fr = _rates([s for s, _ in fr], [f for _, f in fr])
    return Outcome(setting, recall or 0.0, fpr or 0.0, recall_fr, fpr_fr)


DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "model_weight": (0.0, 0.2, 0.3, 0.4, 0.5),
    # 1.0 never reached in practice: the model alone never flags.
    "model_only_min_p": (0.9, 0.95, 0.97, 0.99, 1.0),
    "model_support_min_rule": (0.0, 0.2, 0.3, 0.4),
    "warn_message": (0.35, 0.40, 0.45, 0.50),
    "warn_listing": (0.40, 0.45, 0.50, 0.55),
}


def search(
    samples: Sequence[FusionSample], pack: RulePack, grid: Mapping[str, Iterable[float]] | None = None
) -> list[Outcome]:
    """Every setting of the grid, evaluated (order: the grid's product order)."""
    g = {k: tuple(v) for k, v in (grid or DEFAULT_GRID).items()}
    keys = ("model_weight", "model_only_min_p", "model_support_min_rule", "warn_message", "warn_listing")
    return [evaluate(samples, pack, Setting(*values)) for values in itertools.product(*(g[k] for k in keys))]


def best(outcomes: Sequence[Outcome], max_fpr: float = 0.01) -> Outcome | None:
    """The highest-recall outcome whose honest FPR, overall AND on French, is <= `max_fpr` (French
    recall first: the marketplace is French); ties go to the lower FPR, then to the setting that trusts
    the model least (higher model-only bar, lower weight, higher warn threshold)."""
    ok = [o for o in outcomes if max(o.fpr, o.fpr_fr or 0.0) <= max_fpr]
    if not ok:
        return None

    def key(o: Outcome) -> tuple[float, ...]:
        s = o.setting
        return (
            -round(o.recall_fr or 0.0, 6), -round(o.recall, 6), round(o.fpr, 6), -s.model_only_min_p,
            s.model_weight,
            -s.model_support_min_rule, -s.warn_message, -s.warn_listing,
        )  # fmt: skip

    return min(ok, key=key)
