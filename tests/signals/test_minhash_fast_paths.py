"""The template signature's fast paths (ASCII folding, masks skipped when they cannot match, struct
packing) give exactly what the plain passes give: signatures live in Redis across versions."""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import minhash
from scoring.minhash import TemplateSignature, band_keys, template_signature, template_tokens

# Pieces that exercise every branch: links with and without a dot, e-mails, digits (Unicode ones too),
# accents and combining marks, letters that IGNORECASE [a-z] accepts beyond ASCII, greetings.
PIECES = [
    "a", "é", "ç", " ", ".", ",", ":", "/", "@", "-", "0", "7", "٣", "１", "://", "www.", "http", "HTTP://",
    ".fr", ".ı", "ſ", "K", "İ", "\u0301", "ﬁ", "．", " bonjour ", "Marie", "paypal.me/x", "06 12 34",
]  # fmt: skip


def plain_tokens(text: str) -> list[str]:
    """The three masks applied unconditionally, as the signature was first defined."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = minhash._EMAIL.sub(" <email> ", folded)
    folded = minhash._URL.sub(" <url> ", folded)
    folded = minhash._NUMBER.sub(" <num> ", folded)
    masked: list[str] = []
    after_greeting = False
    for token in minhash._TOKEN.findall(folded):
        masked.append("<name>" if after_greeting and token not in minhash._GREETINGS else token)
        after_greeting = token in minhash._GREETINGS
    return masked


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_fast_paths_give_the_plain_tokens(text: str) -> None:
    assert template_tokens(text) == plain_tokens(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=2, max_size=30).map("".join))
def test_packing_is_the_big_endian_layout(text: str) -> None:
    sig = template_signature(text, min_tokens=1)
    if sig is None:
        return
    assert sig.to_bytes() == np.asarray(sig.hashes, dtype=">u8").tobytes()
    assert TemplateSignature.from_bytes(sig.to_bytes()).hashes == sig.hashes
    rows = [np.asarray(sig.hashes[i * 4 : i * 4 + 4], dtype=">u8").tobytes() for i in range(minhash.BANDS)]
    expected = [f"{i}:{hashlib.blake2b(r, digest_size=8).hexdigest()}" for i, r in enumerate(rows)]
    assert band_keys(sig) == expected
