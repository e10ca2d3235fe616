"""One-pass phrase matching over every lexicon of the rule pack.

All terms of all lexicons go into a single Aho-Corasick automaton (pyahocorasick), built once per
rule pack, so matching costs one C-level pass over the text whatever the number of phrases; word
boundaries are checked per hit. Terms are normalised with `scoring.normalize` at build time and
expanded into their hyphen/apostrophe variants ("envoyez-moi", "envoyez moi", "envoyezmoi").
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import ahocorasick

from scoring.normalize import normalize

# (start, end) in normalised text.
Hit = tuple[int, int]


def term_variants(term: str) -> set[str]:
    """Normalised spellings of a lexicon term; a trailing '*' (prefix match) is kept on each."""
    prefix = term.endswith("*")
    base = normalize(term.rstrip("*").strip()).text.strip()
    choices = {"-": ("-", " ", ""), "'": ("'", " ", ""), " ": (" ", "")}
    parts: list[tuple[str, ...]] = []
    for ch in base:
        # Spaces are only made optional inside short multi-word terms, to keep variants few.
        if ch in choices and (ch != " " or len(base) <= 12):
            parts.append(choices[ch])
        else:
            parts.append((ch,))
    variants = {"".join(p) for p in itertools.islice(itertools.product(*parts), 27)}
    return {v + "*" if prefix else v for v in variants if v}


class PhraseMatcher:
    """Finds every lexicon term in a normalised text; immutable and thread-safe once built."""

    def __init__(self, lexicons: Mapping[str, tuple[str, ...]]) -> None:
        entries: dict[str, list[tuple[str, bool]]] = {}
        for name, terms in lexicons.items():
            for term in terms:
                for variant in term_variants(term):
                    prefix = variant.endswith("*")
                    key = variant.rstrip("*")
                    if (name, prefix) not in entries.setdefault(key, []):
                        entries[key].append((name, prefix))
        self._automaton = ahocorasick.Automaton()
        for key, values in entries.items():
            self._automaton.add_word(key, (len(key), tuple(values)))
        self._automaton.make_automaton()
        self.lexicon_names = frozenset(lexicons)

    def find(self, text: str) -> dict[str, list[Hit]]:
        """Hits per lexicon name, each list sorted by start; terms must sit on word boundaries."""
        hits: dict[str, list[Hit]] = {}
        n = len(text)
        for end_idx, (length, values) in self._automaton.iter(text):
            start = end_idx - length + 1
            end = end_idx + 1
            if start > 0 and text[start - 1].isalnum():
                continue
            right_ok = end >= n or not text[end].isalnum()
            for name, prefix in values:
                if prefix or right_ok:
                    hits.setdefault(name, []).append((start, end))
        for spans in hits.values():
            spans.sort()
        return hits
