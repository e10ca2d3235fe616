"""Near-duplicate signatures of message templates: MinHash over masked word bigrams, with LSH bands.

A scam campaign sends the same script to many recipients with small edits: the recipient's name,
the item, the price, the phone number, a fresh link. `template_signature(text)` masks the parts
that vary by construction (URLs, e-mails, numbers, the word after a greeting) and keeps `NUM_PERM`
minimum hashes of the remaining word bigrams. The share of equal positions between two signatures
estimates the Jaccard similarity of their bigram sets (`similarity`), so "one word changed in a
40-word script" stays near 0.9 while unrelated messages fall under 0.1.

`band_keys(sig)` cuts a signature into `BANDS` bands of `ROWS` hashes: two texts share at least one
band with probability 1 - (1 - s**ROWS)**BANDS (≈0.9998 at s=0.9, ≈0.40 at s=0.5, ≈0.06 at s=0.3),
which is how a store finds candidates by exact key lookups and then confirms them with `similarity`
(locality-sensitive hashing). SimHash was tried first: on 40-word messages one changed word moved
5-10 of 64 bits, too close to the noise between unrelated texts.

Pure and cheap (a few regex passes, skipped when they cannot match, and one vectorised hash); no I/O.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import re
import struct
import unicodedata
from dataclasses import dataclass

import numpy as np

NUM_PERM = 32
BANDS = 8
ROWS = NUM_PERM // BANDS
# Short messages ("bonjour, toujours dispo ?") are what every honest buyer sends: never a template.
DEFAULT_MIN_TOKENS = 8

_MERSENNE = np.uint64((1 << 61) - 1)
# Fixed seeds: signatures must be comparable across processes and restarts (they live in Redis).
_RNG = np.random.default_rng(20_241_122)
_A = _RNG.integers(1, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
_B = _RNG.integers(0, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)

_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,24}(?:/\S*)?", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*")
_NUMBER = re.compile(r"\d(?:[\d\s.,]*\d)?")
_TOKEN = re.compile(r"[a-z<>]+")
# What every _URL match contains (same flags, so the same letters count as [a-z]).
_URL_HINT = re.compile(r"://|www\.|\.[a-z]", re.IGNORECASE)
# \d as _NUMBER reads it (Unicode digits included).
_DIGIT = re.compile(r"\d")
# Big-endian unsigned 64-bit hashes: a whole signature, and one band's rows.
_PACK_ALL = struct.Struct(f">{NUM_PERM}Q")
_PACK_BAND = struct.Struct(f">{ROWS}Q")
# The word after these is usually the recipient's name ("bonjour marie", "hello john").
_GREETINGS = frozenset(
    {"bonjour", "bonsoir", "salut", "coucou", "cher", "chere", "hello", "hi", "dear", "hey", "madame",
     "monsieur", "mme", "mr", "mrs", "ms"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TemplateSignature:
    """A message's template fingerprint. `tokens` is the masked word count (how substantive it is)."""

    hashes: tuple[int, ...]  # NUM_PERM minimum hashes
    tokens: int

    def to_bytes(self) -> bytes:
        """Compact storage form (8 bytes per hash, big-endian)."""
        return _PACK_ALL.pack(*self.hashes)

    @classmethod
    def from_bytes(cls, data: bytes, tokens: int = 0) -> TemplateSignature:
        """Inverse of `to_bytes`; raises ValueError on a payload of the wrong size."""
        if len(data) != NUM_PERM * 8:
            raise ValueError(f"a signature is {NUM_PERM * 8} bytes, got {len(data)}")
        return cls(_PACK_ALL.unpack(data), tokens)


def template_tokens(text: str) -> list[str]:
    """The words a template is compared on: casefolded, accents dropped, variable parts masked."""
    if text.isascii():
        folded = text.casefold()  # NFKD leaves ASCII as it is and it has no combining marks
    else:
        folded = unicodedata.normalize("NFKD", text.casefold())
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    # Each mask only when its pattern can match at all (an e-mail needs "@", a link "://", "www." or a
    # dot before a letter, a number a digit): most chat lines have none, and links are the costliest pass.
    if "@" in folded:
        folded = _EMAIL.sub(" <email> ", folded)
    if _URL_HINT.search(folded):
        folded = _URL.sub(" <url> ", folded)
    if _DIGIT.search(folded):
        folded = _NUMBER.sub(" <num> ", folded)
    masked: list[str] = []
    after_greeting = False
    for token in _TOKEN.findall(folded):
        masked.append("<name>" if after_greeting and token not in _GREETINGS else token)
        after_greeting = token in _GREETINGS
    return masked


def _minhash(tokens: list[str]) -> tuple[int, ...]:
    grams = {f"{a} {b}" for a, b in itertools.pairwise(tokens)} or set(tokens)
    digests = b"".join(hashlib.blake2b(g.encode(), digest_size=8).digest() for g in sorted(grams))
    base = np.frombuffer(digests, dtype=">u8").astype(np.uint64) % _MERSENNE
    # Universal hashing (a*x + b) mod p, one row per permutation; uint64 wraps, which only mixes more.
    permuted = (np.outer(base, _A) + _B) % _MERSENNE
    return tuple(permuted.min(axis=0).tolist())


def template_signature(text: str, min_tokens: int = DEFAULT_MIN_TOKENS) -> TemplateSignature | None:
    """The signature of `text`, or None when it has fewer than `min_tokens` masked words."""
    tokens = template_tokens(text)
    if len(tokens) < min_tokens:
        return None
    return TemplateSignature(_minhash(tokens), len(tokens))


def similarity(a: TemplateSignature, b: TemplateSignature) -> float:
    """Estimated Jaccard similarity of the two texts' bigram sets, in [0, 1]."""
    if len(a.hashes) != len(b.hashes):
        raise ValueError("signatures of different lengths")
    return sum(map(operator.eq, a.hashes, b.hashes)) / NUM_PERM


def band_keys(sig: TemplateSignature) -> list[str]:
    """`BANDS` exact-match lookup keys ("<band index>:<hex digest of its rows>")."""
    keys = []
    for i in range(BANDS):
        rows = _PACK_BAND.pack(*sig.hashes[i * ROWS : (i + 1) * ROWS])
        keys.append(f"{i}:{hashlib.blake2b(rows, digest_size=8).hexdigest()}")
    return keys
