"""Properties on arbitrary text: no exception, valid spans, score in [0, 1]."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.engine import Scorer
from scoring.extract import extract
from scoring.normalize import normalize
from scoring.types import Kind, ScoreInput

# Text mixing scam vocabulary, digits, separators and arbitrary Unicode, so properties hit real paths.
PIECES = st.sampled_from(
    ["paypal", " ", "w h a t s", "@", "arobase", ".", "[.]", "06 12", "zéro six", "http://", "bit.ly/", "€",
     "code", "IBAN FR76", "\u200b", "ｐ", "а", "-", "\n", "envoie-moi", "0x", "bc1q"]
)  # fmt: skip
TEXT = st.one_of(
    st.text(max_size=300), st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=60).map("".join)
)


@settings(max_examples=150, deadline=None)
@given(TEXT, st.integers(0, 400), st.integers(0, 400))
def test_normalize_spans_are_valid(text: str, a: int, b: int) -> None:
    norm = normalize(text)
    start, end = min(a, b), max(a, b)
    s, e = norm.to_original(start, end)
    assert 0 <= s <= e <= len(text)


@settings(max_examples=150, deadline=None)
@given(TEXT)
def test_extracted_spans_are_valid(text: str) -> None:
    for ent in extract(text, normalize(text)).all():
        assert 0 <= ent.span[0] <= ent.span[1] <= len(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TEXT, st.one_of(st.none(), TEXT))
def test_score_is_bounded_and_reasons_point_into_their_field(
    rules_scorer: Scorer, text: str, title: str | None
) -> None:
    item = ScoreInput(id="h", kind=Kind.LISTING if title else Kind.MESSAGE, text=text, title=title)
    result = rules_scorer.score(item)
    assert 0.0 <= result.score <= 1.0
    for r in result.reasons:
        source = title if r.field == "title" else text
        assert r.span is not None and source is not None
        assert 0 <= r.span[0] <= r.span[1] <= len(source)
        assert 0.0 <= r.weight <= 1.0
