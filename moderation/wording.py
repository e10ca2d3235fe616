"""Versioned wording catalogues (fr, en) and SAFE plain-text rendering of user-facing text.

The wording of safety warnings and report statuses lives in `moderation/catalogues/*.toml`, one file
per language, each with a `[meta] version`. Templates use `string.Template` syntax (`$domain`).
Substitution is a single pass over the catalogue's OWN template: a value inserted into it is never
parsed again, so evidence containing `${x}`, `{{7*7}}`, `{0.__class__}` or `<script>` comes out
literally. Values are also stripped of control and format characters (newlines, bidi overrides,
zero-width characters) and truncated before insertion. The output is plain text; the platform escapes
it when it displays it.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

CATALOGUE_DIR = Path(__file__).parent / "catalogues"
LANGS = ("fr", "en")
DEFAULT_LANG = "fr"
# Long enough for a look-alike host, short enough that a warning stays a two-line read.
MAX_VALUE_CHARS = 60
ELLIPSIS = "…"
# Cc: control (newlines, ESC), Cf: format (bidi overrides, zero-width), Cs/Co/Cn: surrogate,
# private-use and unassigned: none belongs in a short piece of evidence shown to a user.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def normalize_lang(value: str | None) -> str | None:
    """ "fr", "fr-FR", "fr_BE", "EN" -> "fr"/"en"; None for anything else."""
    if not value:
        return None
    base = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGS else None


def sanitize_value(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """A piece of untrusted evidence made safe to insert into a sentence.

    Promises: no control, format, surrogate, private-use or unassigned character; whitespace runs
    (including line and paragraph separators) collapsed to one space; at most `limit` characters,
    an ellipsis marking a cut. The text is otherwise kept verbatim: it is NOT escaped for HTML,
    because the output is plain text escaped by whoever displays it.
    """
    text = unicodedata.normalize("NFC", str(value))
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in _DROPPED_CATEGORIES and char not in "\t\n\r":
            continue
        kept.append(" " if char.isspace() or category in {"Zl", "Zp"} else char)
    cleaned = " ".join("".join(kept).split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + ELLIPSIS
    return cleaned


@dataclass(frozen=True)
class Catalogue:
    """One language's wording. `data` is the parsed TOML (read-only by convention)."""

    lang: str
    version: str
    data: dict[str, Any]

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        return value if isinstance(value, dict) else {}

    def category(self, name: str) -> dict[str, Any]:
        """The entry of a warning category; KeyError when the catalogue has none."""
        entry = self.section("categories").get(name)
        if not isinstance(entry, dict):
            raise KeyError(name)
        return entry

    def word(self, key: str) -> str:
        """A fixed vocabulary word (channel, payment method) in this language; the key itself if unknown."""
        return str(self.section("vocabulary").get(key, key))


@cache
def load(lang: str) -> Catalogue:
    """The catalogue for `lang` ("fr" or "en"); other values get the default language. Cached per process."""
    lang = normalize_lang(lang) or DEFAULT_LANG
    with (CATALOGUE_DIR / f"warnings.{lang}.toml").open("rb") as handle:
        data = tomllib.load(handle)
    return Catalogue(lang=lang, version=str(data["meta"]["version"]), data=data)


def placeholders(template: str) -> set[str]:
    """The `$name` placeholders a template uses."""
    return set(Template(template).get_identifiers())


def render(template: str, values: dict[str, str]) -> str | None:
    """Fill `template` with `values` (already sanitised); None when a placeholder has no value.

    Single-pass `string.Template.substitute`: the inserted values are never themselves parsed,
    and no attribute or item access exists in this syntax (unlike `str.format`).
    """
    if not placeholders(template) <= values.keys():
        return None
    return Template(template).substitute(values)


def first_rendering(templates: list[str | None], values: dict[str, str]) -> str:
    """The first of `templates` whose placeholders all have values, rendered; "" if none fits."""
    for template in templates:
        if template:
            out = render(template, values)
            if out is not None:
                return out
    return ""
