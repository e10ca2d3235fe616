"""Intent + object co-occurrence rules (the rule pack's `[[rule]]` entries) turned into reasons.

A rule fires when one hit of each of its groups (phrase lexicons or entity groups) lies within the
rule's window, the hits do not overlap (one phrase cannot play two roles), no `unless` phrase sits in
that window, and, for negatable rules, the mechanism is not denied or reported: no negation precedes
the first hit closely in the same clause ("je ne donne jamais mes codes") or touches any hit ("PayPal,
pas entre amis"), no reported-speech marker
(`hearsay`: "on m'a envoyé un lien qui ...", "someone asked me to ...") precedes it anywhere in the
same sentence, and the field does not ask whether such a thing is legitimate (`legit_question`: "c'est
normal ?", "is this you?") -- a victim asking is not a scammer asking.
Each fired rule gives one reason spanning its hits in the ORIGINAL text. Cost: for each rule, one
bisect per hit of its rarest group.
"""

from __future__ import annotations

import bisect

from scoring.detectors.context import FieldContext
from scoring.detectors.phrases import Hit
from scoring.rulepack import Rule
from scoring.types import Reason

MAX_EVIDENCE_CHARS = 300


def _nearest(spans: list[Hit], anchor: Hit, taken: list[Hit]) -> Hit | None:
    """The hit of `spans` closest to `anchor` that overlaps none of `taken`."""
    i = bisect.bisect_left(spans, anchor)
    best: Hit | None = None
    best_dist = -1
    # Look a few positions either side: the nearest non-overlapping hit is almost always there.
    for j in range(max(0, i - 3), min(len(spans), i + 4)):
        cand = spans[j]
        if any(cand[0] < t[1] and t[0] < cand[1] for t in taken):
            continue
        dist = max(cand[0] - anchor[1], anchor[0] - cand[1], 0)
        if best is None or dist < best_dist:
            best, best_dist = cand, dist
    return best


def _reported(ctx: FieldContext, first_start: int) -> bool:
    """A legitimacy question anywhere in the field, or reported speech earlier in the same sentence."""
    if ctx.hits.get("legit_question"):
        return True
    hearsay = ctx.hits.get("hearsay")
    if not hearsay:
        return False
    k = bisect.bisect_left(ctx.sentence_breaks, first_start)
    sentence_start = ctx.sentence_breaks[k - 1] if k > 0 else -1
    return any(sentence_start < end <= first_start for _, end in hearsay)


def _negated(ctx: FieldContext, first_start: int) -> bool:
    return _reported(ctx, first_start) or _clause_negated(ctx, first_start)


def _clause_negated(ctx: FieldContext, first_start: int) -> bool:
    """A negation closely before `first_start`, in the same clause (not a negation_exempt phrase)."""
    negations = ctx.hits.get("negation")
    if not negations:
        return False
    lo = first_start - ctx.pack.negation_window
    exempt = ctx.hits.get("negation_exempt", [])
    i = bisect.bisect_left(negations, (lo, lo))
    for start, end in negations[i:]:
        if start >= first_start:
            break
        if end > first_start:
            continue
        if any(a <= start and end <= b for a, b in exempt):
            continue
        # A negation only reaches forward within its own clause.
        k = bisect.bisect_left(ctx.clause_breaks, end)
        if k < len(ctx.clause_breaks) and ctx.clause_breaks[k] < first_start:
            continue
        return True
    return False


# A negation written right against a later hit denies that part only: "PayPal, pas entre amis".
TOUCH_MARGIN = 3


def _hit_negated(ctx: FieldContext, chosen: list[Hit]) -> bool:
    """Whether a negation ends at (or runs into) the start of one of the rule's hits."""
    negations = ctx.hits.get("negation")
    if not negations:
        return False
    exempt = ctx.hits.get("negation_exempt", [])
    for h_start, h_end in chosen:
        i = bisect.bisect_left(negations, (h_start - 40, h_start - 40))
        for start, end in negations[i:]:
            if start >= h_start:
                break
            if end < h_start - TOUCH_MARGIN or end > h_end:
                continue
            if any(a <= start and end <= b for a, b in exempt):
                continue
            return True
    return False


# "unless" phrases may sit just outside the matched hits ("...un numéro pour que je vous appelle").
UNLESS_MARGIN = 40


def _blocked(ctx: FieldContext, rule: Rule, lo: int, hi: int) -> bool:
    lo, hi = lo - UNLESS_MARGIN, hi + UNLESS_MARGIN
    for name in rule.unless:
        for start, end in ctx.hits.get(name, ()):
            # A denied excuse does not excuse: "pas de remise en main propre, virement uniquement".
            if start < hi and end > lo and not _clause_negated(ctx, start):
                return True
    return False


def match_rule(ctx: FieldContext, rule: Rule, honour_negation: bool = True) -> tuple[int, int] | None:
    """Span in normalised text of the first valid combination of the rule's groups, or None.

    With `honour_negation=False` a negated or reported combination counts too (see `denied`).
    """
    lists = [ctx.hits.get(g) for g in rule.groups]
    if any(not spans for spans in lists):
        return None
    order = sorted(range(len(lists)), key=lambda k: len(lists[k] or ()))
    anchors = lists[order[0]] or []
    for anchor in anchors:
        chosen = [anchor]
        for k in order[1:]:
            near = _nearest(lists[k] or [], anchor, chosen)
            if near is None:
                break
            chosen.append(near)
        else:
            lo = min(s for s, _ in chosen)
            hi = max(e for _, e in chosen)
            if hi - lo > rule.window:
                continue
            if rule.unless and _blocked(ctx, rule, lo, hi):
                continue
            if honour_negation and rule.negatable and (_negated(ctx, lo) or _hit_negated(ctx, chosen)):
                continue
            return lo, hi
    return None


def rule_reasons(ctx: FieldContext) -> list[Reason]:
    """One reason per rule of the pack that fires on this field."""
    reasons: list[Reason] = []
    for rule in ctx.pack.rules:
        if ctx.kind not in rule.kinds:
            continue
        found = match_rule(ctx, rule)
        if found is None:
            continue
        start, end = ctx.norm.to_original(*found)
        reasons.append(
            Reason(
                code=rule.code,
                category=rule.category,
                weight=rule.weight,
                evidence=ctx.original[start:end][:MAX_EVIDENCE_CHARS],
                span=(start, end),
                field=ctx.field,
            )
        )
    return reasons


def denied(ctx: FieldContext) -> bool:
    """Whether the field names a scam mechanism only to deny or report it: some negatable rule of the
    pack matches once negation is ignored, yet does not fire ("je ne demande jamais de code")."""
    for rule in ctx.pack.rules:
        if not rule.negatable or ctx.kind not in rule.kinds:
            continue
        if match_rule(ctx, rule, honour_negation=False) is not None and match_rule(ctx, rule) is None:
            return True
    return False
