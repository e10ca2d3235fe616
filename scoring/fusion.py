"""Score fusion: rule reasons + model probability -> one score in [0, 1].

Rules: the weights of one category combine by noisy-OR (keeping the strongest reason per code, so a
phrase repeated in title and text does not count twice); categories combine by noisy-OR too.
Model: with rule evidence of at least `model_support_min_rule`, the model probability p raises the
score by noisy-OR with `model_weight * p`. Without such evidence the score is p itself, capped at
`model_only_cap`, and only once p reaches `model_only_min_p` (the model alone may warn or queue for
review, never hold) -- and never when the text is `denied`: a message that names a scam mechanism
only to refuse or report it ("je ne demande jamais de code", "on m'a demandé ...") reads like a scam
to a bag-of-words model, and the rules that understood the negation must win there.
Sender context then moves the score in odds space (a brand-new account raises it a little, a
professional seller with a valid SIRET lowers it a little); it never adds or removes reasons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scoring.rulepack import ContextParams, FusionParams
from scoring.types import Category, Reason, Sender


def noisy_or(weights: Iterable[float]) -> float:
    """1 - prod(1 - w): independent pieces of evidence, each clipped to [0, 1]."""
    miss = 1.0
    for w in weights:
        miss *= 1.0 - min(1.0, max(0.0, w))
    return 1.0 - miss


def category_scores(reasons: Iterable[Reason]) -> dict[Category, float]:
    """Noisy-OR of the strongest weight of each reason code, per category."""
    best: dict[str, tuple[Category, float]] = {}
    for r in reasons:
        if r.code not in best or r.weight > best[r.code][1]:
            best[r.code] = (r.category, r.weight)
    per_cat: dict[Category, list[float]] = {}
    for category, weight in best.values():
        per_cat.setdefault(category, []).append(weight)
    return {c: noisy_or(ws) for c, ws in per_cat.items()}


@dataclass(frozen=True, slots=True)
class Fused:
    score: float
    rule_score: float
    model_p: float | None
    by_category: Mapping[Category, float]
    model_only: bool  # the score comes from the model alone (no rule evidence)


def _adjust_odds(score: float, factor: float) -> float:
    if score <= 0.0 or score >= 1.0 or factor == 1.0:
        return score
    odds = score / (1.0 - score) * factor
    return odds / (1.0 + odds)


def context_factor(sender: Sender | None, params: ContextParams, siret_valid: bool) -> float:
    """Odds multiplier from who sends the content (1.0 when nothing is known)."""
    if sender is None:
        return 1.0
    factor = 1.0
    if sender.account_age_days is not None and sender.account_age_days < params.new_account_days:
        factor *= params.new_account_odds
    if sender.is_pro and siret_valid:
        factor *= params.pro_with_siret_odds
    return factor


def fuse(
    reasons: Iterable[Reason],
    model_p: float | None,
    params: FusionParams,
    context_odds: float = 1.0,
    denied: bool = False,
    prose: bool = True,
) -> Fused:
    """Combine reasons and the model probability (None when no model is loaded) into a score in [0, 1].

    `denied` (the text mentions scam mechanisms only under negation or as a report) forbids a
    model-only score; it never lowers rule evidence. `prose=False` (the text is little more than a link
    or an address) holds a model-only score to `model_only_min_p_bare` instead of `model_only_min_p`.
    """
    by_category = category_scores(reasons)
    rule = noisy_or(by_category.values())
    model_only = False
    supported = rule > 0.0 and rule >= params.model_support_min_rule
    if supported and model_p is not None:
        score = noisy_or([rule, params.model_weight * model_p])
    else:
        score = rule
        bar = params.model_only_min_p if prose else max(params.model_only_min_p, params.model_only_min_p_bare)
        if model_p is not None and model_p >= bar and not denied:
            alone = min(params.model_only_cap, model_p)
            if alone > score:
                score = alone
                model_only = True
    score = _adjust_odds(score, context_odds)
    if model_only:
        score = min(score, params.model_only_cap)
    return Fused(
        score=min(1.0, max(0.0, score)),
        rule_score=rule,
        model_p=model_p,
        by_category=by_category,
        model_only=model_only,
    )
