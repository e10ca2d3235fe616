"""The scoring core on hostile text: no exception and bounded work on any input up to the API's
size limit (20,000 characters), including inputs built to trigger regex backtracking, huge
entity counts and Unicode tricks. A pytest timeout bounds each test; speed targets live in
bench/bench_scoring.py, not here."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.settings import Settings
from scoring.engine import Scorer
from scoring.types import Kind, ScoreInput, ScoreResult
from tests.hostile.profile import SCORING_EXAMPLES

LIMIT = Settings().max_text_chars

# Pieces that exercise every extractor and detector; repeated they make worst cases.
PIECES = [
    "paypal", "w h a t s a p p", "@", "arobase", ".", "[.]", "06 12 34 56 78", "+33", "zéro six", "http://",
    "https://", "bit.ly/", "www.", "leb0ncoin.fr", "€", "IBAN FR76 3000 6000", "bc1q", "0x", "\u200b",
    "\u202e", "ｐａｙｐａｌ", "раураl", "e\u0301", "😀", "\n", "-", "_", "/", "?", "=", "&", "%", "a", "0",
]  # fmt: skip

ADVERSARIAL = {
    "one letter": "a" * LIMIT,
    "one digit": "0" * LIMIT,
    "spaced digits": "0 " * (LIMIT // 2),
    "at signs": "@" * LIMIT,
    "dots": "." * LIMIT,
    "dotted labels": "a." * (LIMIT // 2),
    "url prefixes": "http://" * (LIMIT // 7),
    "a giant url": "http://" + "a" * (LIMIT - 20) + ".com/",
    "a giant host": "x" + "-a" * (LIMIT // 2 - 4) + ".fr",
    "many e-mails": "a@b.fr " * (LIMIT // 7),
    "many phones": "06 12 34 56 78 " * (LIMIT // 15),
    "many urls": "bit.ly/x " * (LIMIT // 9),
    "nested quantifier bait": "a" * (LIMIT - 1) + "!",
    "spaced letters": "w h a t s " * (LIMIT // 10),
    "zero width": "\u200b" * LIMIT,
    "combining marks": "e" + "\u0301" * (LIMIT - 1),
    "right to left": "\u202e" * (LIMIT // 2) + "paypal" * 10,
    "emoji": "😀" * LIMIT,
    "fullwidth": "ｐ" * LIMIT,
    "all pieces": ("".join(PIECES) * LIMIT)[:LIMIT],
}


@pytest.fixture(scope="module")
def full_scorer() -> Scorer:
    return Scorer.load()


def _check(result: ScoreResult, item: ScoreInput) -> None:
    assert 0.0 <= result.score <= 1.0
    for reason in result.reasons:
        source = item.title if reason.field == "title" else item.text
        assert source is not None and reason.span is not None
        assert 0 <= reason.span[0] <= reason.span[1] <= len(source)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_text_at_the_size_limit(full_scorer: Scorer, name: str) -> None:
    text = ADVERSARIAL[name]
    assert len(text) <= LIMIT
    item = ScoreInput(id=name, kind=Kind.LISTING, text=text, title=text[:200])
    _check(full_scorer.score(item), item)


@pytest.mark.timeout(600)
@settings(
    max_examples=SCORING_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=400).map("".join),
    st.integers(1, 50),
)
def test_arbitrary_text_never_raises(full_scorer: Scorer, chunk: str, repeat: int) -> None:
    text = (chunk * repeat)[:LIMIT]
    item = ScoreInput(id="h", kind=Kind.MESSAGE, text=text)
    _check(full_scorer.score(item), item)
    batch = [item, ScoreInput(id="h2", kind=Kind.LISTING, text=text[::-1], title=text[:50])]
    for got, sent in zip(full_scorer.score_many(batch), batch, strict=True):
        _check(got, sent)
