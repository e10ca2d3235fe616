"""The rule index evaluates only the rules a field can fire, with the same reasons as a full scan.

`rule_reasons` looks at the rules keyed by a group the field hit; `rule_reasons_full_scan` evaluates
every rule of the pack. Both must agree on every field of the training corpus (reasons, order, spans),
and `denied` must agree with its full-scan definition, whatever the rule content is at the time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scoring.detectors import build_context
from scoring.detectors.context import FieldContext
from scoring.detectors.rules import (
    RuleIndex,
    denied,
    match_rule,
    rule_index,
    rule_reasons,
    rule_reasons_full_scan,
)
from scoring.engine import Scorer
from scoring.rulepack import load_rulepack
from scoring.types import Kind

TRAIN = Path(__file__).resolve().parents[3] / "fixtures" / "corpus" / "train"


def _corpus_fields() -> list[tuple[str, Kind, str]]:
    fields = []
    for path in sorted(TRAIN.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("kind") not in ("message", "listing") or not row.get("text"):
                continue
            kind = Kind(row["kind"])
            fields.append(("text", kind, row["text"]))
            if row.get("title"):
                fields.append(("title", kind, row["title"]))
    return fields


def _context(scorer: Scorer, field: str, kind: Kind, text: str) -> FieldContext:
    return build_context(field, kind, text, scorer.pack, scorer.matcher, scorer.links)


def _denied_full_scan(ctx: FieldContext) -> bool:
    return any(
        match_rule(ctx, rule, honour_negation=False) is not None and match_rule(ctx, rule) is None
        for rule in ctx.pack.rules
        if rule.negatable and ctx.kind in rule.kinds
    )


def test_index_gives_the_full_scan_reasons_on_the_training_corpus(rules_scorer: Scorer) -> None:
    fields = _corpus_fields()
    assert len(fields) > 2000  # the corpus is there: an empty loop would prove nothing
    fired = denials = 0
    for field, kind, text in fields:
        ctx = _context(rules_scorer, field, kind, text)
        expected = rule_reasons_full_scan(ctx)
        assert rule_reasons(ctx) == expected, text
        assert denied(ctx) == _denied_full_scan(ctx), text
        fired += bool(expected)
        denials += denied(ctx)
    # Both branches were exercised: rules fired on many fields and some fields only denied a mechanism.
    assert fired > 500
    assert denials > 10


def test_a_field_evaluates_a_few_rules_not_the_whole_pack(rules_scorer: Scorer) -> None:
    index = rule_index(rules_scorer.pack)
    ctx = _context(
        rules_scorer, "text", Kind.MESSAGE, "Je vous paie par PayPal entre amis, écrivez-moi sur WhatsApp"
    )
    candidates = index.candidates(ctx)
    assert 0 < len(candidates) < len(rules_scorer.pack.rules) / 4
    # Every candidate has hits for all its groups, and every rule that fires is a candidate.
    assert all(all(ctx.hits.get(g) for g in rule.groups) for rule in candidates)
    fired = {r.code for r in rule_reasons_full_scan(ctx)}
    assert fired and fired <= {rule.code for rule in candidates}
    # Pack order is kept (reasons are listed in that order).
    positions = [rules_scorer.pack.rules.index(rule) for rule in candidates]
    assert positions == sorted(positions)


def test_rules_of_another_kind_are_not_candidates(rules_scorer: Scorer) -> None:
    index = RuleIndex.build(rules_scorer.pack.rules)
    text = "Paiement par virement uniquement, contactez-moi sur WhatsApp au 06 12 34 56 78"
    for kind in Kind:
        ctx = _context(rules_scorer, "text", kind, text)
        assert all(kind in rule.kinds for rule in index.candidates(ctx))
        assert all(rule.negatable for rule in index.candidates(ctx, negatable_only=True))


def test_each_pack_gets_its_own_index() -> None:
    """A reloaded pack (a new rules tuple) is indexed afresh: no stale index answers for it."""
    base = load_rulepack()
    first = rule_index(base)
    assert rule_index(base) is first
    reloaded = load_rulepack()
    assert reloaded.rules is not base.rules
    assert rule_index(reloaded) is not first


@pytest.mark.parametrize("kind", list(Kind))
def test_empty_field_has_no_candidates(rules_scorer: Scorer, kind: Kind) -> None:
    ctx = _context(rules_scorer, "text", kind, "")
    assert rule_index(rules_scorer.pack).candidates(ctx) == []
