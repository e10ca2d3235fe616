"""Confusable skeletons: the visual shape of a domain label, so look-alikes compare equal.

`skeleton("раураl") == skeleton("paypa1") == skeleton("paypal")`: Unicode confusables folded to ASCII
(data of the `confusable_homoglyphs` package, loaded on first use), accents dropped, the ASCII
look-alikes a domain can carry folded (0→o, 1/i/l→l, rn→m, vv→w), hyphens removed.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# After Unicode confusables are folded to ASCII, these fold the ASCII look-alikes a domain can carry
# (TR39 keeps "0" and "o" apart because it is case-sensitive; domain names are not).
_ASCII_FOLD = str.maketrans(
    {
        "0": "o",
        "1": "l",
        "i": "l",
        "|": "l",
        "!": "l",
        "3": "e",
        "4": "a",
        "5": "s",
        "$": "s",
        "@": "a",
        "7": "t",
        "8": "b",
        "9": "g",
    }
)
_MULTI_FOLD = (("rn", "m"), ("vv", "w"), ("ii", "u"))


@lru_cache(maxsize=1)
def _confusable_map() -> dict[str, str]:
    """Single non-ASCII character → ASCII letter/digit it is confusable with (Unicode confusables data)."""
    # Imported here: the module loads a large JSON table, which must not happen at import time.
    from confusable_homoglyphs import confusables

    table: dict[str, str] = {}
    for key, entries in confusables.confusables_data.items():
        for entry in entries:
            glyph = entry["c"]
            if key.isascii() and len(key) == 1 and key.isalnum() and len(glyph) == 1 and not glyph.isascii():
                table.setdefault(glyph, key.lower())
            elif (
                len(key) == 1
                and not key.isascii()
                and glyph.isascii()
                and len(glyph) == 1
                and glyph.isalnum()
            ):
                table.setdefault(key, glyph.lower())
    return table


@lru_cache(maxsize=65536)
def skeleton(text: str) -> str:
    """Visual skeleton of a domain label: equal skeletons look alike (`раураl`, `paypaI`, `pay-pal` → same).

    NFKC + casefold, Unicode confusables to ASCII, accents dropped, ASCII look-alikes folded
    (0→o, 1/i/l→l, rn→m...), hyphens removed.
    """
    table = _confusable_map()
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(table.get(ch, ch) for ch in text)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = text.translate(_ASCII_FOLD).replace("-", "")
    for old, new in _MULTI_FOLD:
        text = text.replace(old, new)
    return text


def fold_accents(text: str) -> str:
    """Lowercase without accents ("sécurisé" → "securise"), for keyword matching."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


# --- edit distance ---------------------------------------------------------------------------------------
