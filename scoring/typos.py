"""Typo-squatting edits: bounded Damerau-Levenshtein distance and a name for the edit made.

`classify_edit("lebomcoin", "leboncoin") == "keyboard_typo"`: the name explains a finding to a
moderator and sets how much the edit weighs (a deliberate transposition weighs more than a plain
substitution, which is also how honest names differ).
"""

from __future__ import annotations

from functools import lru_cache

_VOWELS = frozenset("aeiouy")


def damerau_levenshtein(a: str, b: str, max_distance: int) -> int:
    """Optimal-string-alignment distance, or `max_distance + 1` as soon as it is certain to exceed it."""
    if abs(len(a) - len(b)) > max_distance:
        return max_distance + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > max_distance:
            return max_distance + 1
        prev2, prev = prev, cur
    return prev[-1]


_KEYBOARD_ROWS = ("azertyuiop", "qsdfghjklm", "wxcvbn", "qwertyuiop", "asdfghjkl", "zxcvbnm")


@lru_cache(maxsize=1)
def _keyboard_neighbours() -> dict[str, frozenset[str]]:
    # AZERTY and QWERTY rows: a French user mistypes on the first, scam kits are written on both.
    near: dict[str, set[str]] = {}
    for row in _KEYBOARD_ROWS:
        for i, ch in enumerate(row):
            near.setdefault(ch, set()).update(row[max(0, i - 1) : i] + row[i + 1 : i + 2])
    return {k: frozenset(v) for k, v in near.items()}


def classify_edit(candidate: str, target: str) -> str:
    """Name the single edit that turns `target` into `candidate` (for a human-readable technique)."""
    if len(candidate) == len(target) - 1:
        return "missing_letter"
    if len(candidate) == len(target) + 1:
        for i, ch in enumerate(candidate):
            if i >= len(target) or ch != target[i]:
                doubled = (i > 0 and candidate[i - 1] == ch) or (
                    i + 1 < len(candidate) and candidate[i + 1] == ch
                )
                return "doubled_letter" if doubled else "extra_letter"
        return "extra_letter"
    diffs = [i for i, (x, y) in enumerate(zip(candidate, target, strict=False)) if x != y]
    if len(diffs) == 2 and diffs[1] == diffs[0] + 1:
        return "transposition"
    if len(diffs) != 1:
        return "edit"
    x, y = candidate[diffs[0]], target[diffs[0]]
    if bin(ord(x) ^ ord(y)).count("1") == 1:
        return "bitflip"
    if x in _VOWELS and y in _VOWELS:
        return "vowel_swap"
    if x in _keyboard_neighbours().get(y, frozenset()):
        return "keyboard_typo"
    return "substitution"


def deletions(word: str, depth: int) -> set[str]:
    """`word` and every string obtained by deleting up to `depth` characters (symmetric-delete index)."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out
