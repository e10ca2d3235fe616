"""Evaluation metrics on tiny hand-made tables whose answers can be worked out by hand."""

from __future__ import annotations

import pytest

from scoring.evaluation import (
    Confusion,
    EvalRow,
    by_category,
    by_language,
    by_source,
    category_attribution,
    confusion,
    markdown_table,
    pr_curve,
)

ROWS = [
    EvalRow(1, True, 0.9, "fx", "fr", ("external_payment",), ("external_payment",)),
    EvalRow(1, True, 0.8, "fx", "fr", ("off_platform",), ("external_payment",)),
    EvalRow(1, False, 0.3, "fx", "en", ("off_platform",)),
    EvalRow(0, True, 0.7, "fx", "fr", (), ("off_platform",)),
    EvalRow(0, False, 0.2, "fx", "fr"),
    EvalRow(0, False, 0.1, "pub", "en"),
]


def test_confusion_counts_and_rates() -> None:
    c = confusion(ROWS)
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 1, 2, 1)
    assert c.precision == pytest.approx(2 / 3)
    assert c.recall == pytest.approx(2 / 3)
    assert c.false_positive_rate == pytest.approx(1 / 3)


def test_undefined_rates_are_none() -> None:
    c = Confusion(tp=0, fp=0, tn=3, fn=0)
    assert c.precision is None and c.recall is None
    assert c.false_positive_rate == 0.0
    assert c.to_dict()["recall"] is None


def test_by_source_and_language() -> None:
    src = by_source(ROWS)
    assert list(src) == ["fx", "pub"]
    assert (src["pub"].tn, src["pub"].positives) == (1, 0)
    lang = by_language(ROWS)
    assert (lang["en"].fn, lang["en"].tn) == (1, 1)
    assert (lang["fr"].tp, lang["fr"].fp, lang["fr"].tn) == (2, 1, 1)


def test_by_category_pairs_scams_with_their_sources_negatives() -> None:
    cats = by_category(ROWS)
    assert cats["external_payment"].recall == 1.0
    assert cats["off_platform"].recall == 0.5
    # Negatives are the "fx" legitimate rows only (the category lives in "fx").
    assert cats["off_platform"].negatives == 2
    assert cats["off_platform"].false_positive_rate == 0.5


def test_category_attribution() -> None:
    attr = category_attribution(ROWS)
    assert attr["external_payment"] == {"assigned": 2, "scam_precision": 1.0, "category_precision": 0.5}
    assert attr["off_platform"]["scam_precision"] == 0.0


def test_pr_curve_and_degenerate_input() -> None:
    curve = pr_curve(ROWS)
    assert curve.average_precision is not None and 0.0 < curve.average_precision <= 1.0
    assert curve.recall[0] == 1.0 and curve.recall[-1] == 0.0
    assert pr_curve([r for r in ROWS if r.label == 0]).average_precision is None


def test_markdown_table_lists_groups_for_each_system() -> None:
    table = markdown_table("By source", {"vigie": by_source(ROWS), "baseline": {"fx": Confusion(1, 0, 3, 2)}})
    lines = table.splitlines()
    assert lines[0] == "### By source"
    assert "| vigie P | vigie R | vigie FPR | baseline P |" in lines[2]
    assert lines[4].startswith("| fx | 5 | 3 | 66.7% | 66.7% | 50.0% | 100.0% | 33.3% | 0.0% |")
    assert lines[5].startswith("| pub | 1 | 0 | – | – | 0.0% | – | – | – |")
