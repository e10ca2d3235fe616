"""One analysis per text object, shared by the signals and the Scorer; results do not depend on it."""

from __future__ import annotations

import dataclasses

from scoring import text_analysis
from scoring.engine import Scorer, _commonest
from scoring.entity_keys import indexable_entities
from scoring.extract import extract
from scoring.normalize import normalize
from scoring.types import Category, Kind, ScoreInput

TEXT = "Réglez par paypal.me/vendeur7 ou au 06 12 34 56 07, IBAN FR76 3000 6000 0112 3456 7890 189."


def _copy(text: str) -> str:
    """An equal string that is a different object."""
    return "".join(list(text))


def test_same_object_is_analysed_once_equal_text_again() -> None:
    text = _copy(TEXT)
    first = text_analysis.analyze_text(text)
    assert text_analysis.analyze_text(text) is first
    other = text_analysis.analyze_text(_copy(TEXT))
    assert other is not first and other == first  # an equal text elsewhere is analysed afresh
    assert first.norm == normalize(text) and first.entities == extract(text, normalize(text))


def test_long_texts_are_not_memoised_and_the_memo_is_bounded() -> None:
    long = "paiement " * (text_analysis.MAX_MEMO_CHARS // 9 + 1)
    assert text_analysis.analyze_text(long) is not text_analysis.analyze_text(long)
    kept = [f"message numéro {i}" for i in range(text_analysis.MEMO_SIZE + 300)]
    for text in kept:
        text_analysis.analyze_text(text)
    assert len(text_analysis._memo) <= text_analysis.MEMO_SIZE


def test_signals_and_scorer_share_the_analysis_without_changing_results(scorer: Scorer) -> None:
    item = ScoreInput(id="a", kind=Kind.MESSAGE, text=_copy(TEXT))
    alone = scorer.score(dataclasses.replace(item, text=_copy(TEXT)))
    entities = indexable_entities(item)  # the signals' side analyses item.text first
    assert text_analysis.analyze_text(item.text) is text_analysis.analyze_text(item.text)
    assert scorer.score(item) == alone
    assert {e.kind for e in entities} >= {"handle", "phone", "iban"}


def test_model_only_label_tie_goes_to_the_category_written_first() -> None:
    # Two hits each: the category whose first hit comes earlier wins, whatever the hash seed.
    hits = [(40, Category.ADVANCE_FEE), (5, Category.EXTERNAL_PAYMENT), (50, Category.ADVANCE_FEE)]
    hits.append((60, Category.EXTERNAL_PAYMENT))
    assert _commonest(hits) is Category.EXTERNAL_PAYMENT
    assert _commonest([*hits, (70, Category.ADVANCE_FEE)]) is Category.ADVANCE_FEE
