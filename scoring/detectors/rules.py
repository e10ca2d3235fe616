"""Intent + object co-occurrence rules (the rule pack's `[[rule]]` entries) turned into reasons.

A rule fires when one hit of each of its groups (phrase lexicons or entity groups) lies within the
rule's window, the hits do not overlap (one phrase cannot play two roles), no `unless` phrase sits in
that window, and, for negatable rules, the mechanism is not denied or reported: no negation precedes
the first hit closely in the same clause ("je ne donne jamais mes codes") or touches any hit ("PayPal,
pas entre amis"), no reported-speech marker
(`hearsay`: "on m'a envoyé un lien qui ...", "someone asked me to ...") precedes it anywhere in the
same sentence, and the field does not ask whether such a thing is legitimate (`legit_question`: "c'est
normal ?", "is this you?") and does not refuse it after naming it (`refusal`: "Transcash ? non merci")
-- a victim asking is not a scammer asking.
Each fired rule gives one reason spanning its hits in the ORIGINAL text. Cost: only the rules whose
groups all have hits in the field are evaluated (`RuleIndex`: a field meets a few of the pack's ~90
rules), then one bisect per hit of the rule's rarest group.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scoring.detectors.context import FieldContext
from scoring.detectors.phrases import Hit
from scoring.rulepack import Rule, RulePack
from scoring.types import Kind, Reason

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
    """A legitimacy question anywhere in the field, a refusal after the rule's first hit, or reported
    speech earlier in the same sentence."""
    if ctx.hits.get("legit_question"):
        return True
    if any(start > first_start for start, _ in ctx.hits.get("refusal", ())):
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


# Position of a rule in its pack (rules are evaluated, and their reasons listed, in pack order) and the rule.
_Entry = tuple[int, Rule]


@dataclass(frozen=True, slots=True)
class RuleIndex:
    """A pack's rules keyed by ONE of their required groups, per kind of content.

    A rule can only fire when every one of its groups has a hit, so a field needs to look only at the
    rules keyed by a group it hit, and keep those whose other groups it hit too. Each rule is keyed by
    the group that the fewest rules share (a specific lexicon such as `code_sms` rather than `@amount`
    or `pay_verb`), which keeps the candidate lists short. Same rules, same order as a full scan.
    """

    all_rules: Mapping[Kind, Mapping[str, tuple[_Entry, ...]]]
    negatable: Mapping[Kind, Mapping[str, tuple[_Entry, ...]]]

    @classmethod
    def build(cls, rules: tuple[Rule, ...]) -> RuleIndex:
        sharing = Counter(g for rule in rules for g in set(rule.groups))
        all_rules: dict[Kind, dict[str, list[_Entry]]] = {}
        negatable: dict[Kind, dict[str, list[_Entry]]] = {}
        for position, rule in enumerate(rules):
            if not rule.groups:
                continue  # `all = []` requires nothing to match: such a rule never fires
            key = min(rule.groups, key=lambda g: (sharing[g], rule.groups.index(g)))
            for kind in rule.kinds:
                all_rules.setdefault(kind, {}).setdefault(key, []).append((position, rule))
                if rule.negatable:
                    negatable.setdefault(kind, {}).setdefault(key, []).append((position, rule))
        return cls(_frozen(all_rules), _frozen(negatable))

    def candidates(self, ctx: FieldContext, negatable_only: bool = False) -> list[Rule]:
        """The rules (in pack order) of the field's kind whose groups all have hits in the field."""
        table = (self.negatable if negatable_only else self.all_rules).get(ctx.kind)
        if not table:
            return []
        hits = ctx.hits
        found: list[_Entry] = []
        for name, spans in hits.items():
            if spans and name in table:
                found.extend(table[name])
        found.sort(key=_position)
        return [rule for _, rule in found if all(hits.get(g) for g in rule.groups)]


def _position(entry: _Entry) -> int:
    return entry[0]


def _frozen(table: dict[Kind, dict[str, list[_Entry]]]) -> dict[Kind, dict[str, tuple[_Entry, ...]]]:
    return {kind: {g: tuple(entries) for g, entries in by_group.items()} for kind, by_group in table.items()}


# Indexes of the packs in use, by identity of their rule tuple (the tuple is kept so its id stays
# unique). A process holds one or two packs (a reload swaps them); the bound only guards against a
# caller that builds packs in a loop.
_INDEXES: dict[int, tuple[tuple[Rule, ...], RuleIndex]] = {}
_MAX_INDEXES = 8


def rule_index(pack: RulePack) -> RuleIndex:
    """The (cached) `RuleIndex` of a pack's rules; thread-safe (a race only builds it twice)."""
    rules = pack.rules
    entry = _INDEXES.get(id(rules))
    if entry is not None and entry[0] is rules:
        return entry[1]
    index = RuleIndex.build(rules)
    if len(_INDEXES) >= _MAX_INDEXES:
        _INDEXES.clear()
    _INDEXES[id(rules)] = (rules, index)
    return index


def rule_reasons(ctx: FieldContext) -> list[Reason]:
    """One reason per rule of the pack that fires on this field (in pack order)."""
    return _reasons(ctx, rule_index(ctx.pack).candidates(ctx))


def rule_reasons_full_scan(ctx: FieldContext) -> list[Reason]:
    """`rule_reasons` evaluating every rule of the pack: the reference the index is tested against."""
    return _reasons(ctx, (rule for rule in ctx.pack.rules if ctx.kind in rule.kinds))


def _reasons(ctx: FieldContext, rules: Iterable[Rule]) -> list[Reason]:
    reasons: list[Reason] = []
    for rule in rules:
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
    for rule in rule_index(ctx.pack).candidates(ctx, negatable_only=True):
        if match_rule(ctx, rule, honour_negation=False) is not None and match_rule(ctx, rule) is None:
            return True
    return False


# An opening quotation after "j'ai reçu un SMS": a double quote (typographic ones are folded to it), a colon,
# or a single quote standing after a blank (an apostrophe never does).
_QUOTE_OPENING = re.compile(r"\"|:|\s'")
# How far after the reception phrase the quotation may open ("J'ai reçu un SMS ce matin qui dit : ...").
QUOTE_REACH = 80


def asks_about(ctx: FieldContext) -> bool:
    """Whether the field asks whether something is legitimate: a `legit_question` phrase, or a message the
    sender received and quotes (`received_quote` then a quotation) in a text that asks something ("?")."""
    if ctx.hits.get("legit_question"):
        return True
    received = ctx.hits.get("received_quote")
    if not received or "?" not in ctx.norm.text:
        return False
    text = ctx.norm.text
    return any(_QUOTE_OPENING.search(text, end, end + QUOTE_REACH) for _, end in received)
