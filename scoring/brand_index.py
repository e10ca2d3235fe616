"""Protected brands and the index that finds their tokens in a word, a label or any text.

A `Brand` is what brands.toml describes; `BrandIndex` answers "which brand does this word imitate, and
how" in O(word length) whatever the number of brands: exact and skeleton look-ups are dict hits, edit
distance goes through a symmetric-deletion index, substrings through one Aho-Corasick pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick

from scoring.domains import is_under
from scoring.skeleton import skeleton
from scoring.typos import classify_edit, damerau_levenshtein, deletions

# Tokens shorter than this are only matched whole: one edit away from "ups" or "caf" is half the dictionary.
MIN_FUZZY_TOKEN = 5
# From this length a brand token tolerates two edits ("creditagricol", "labanqepostale").
TWO_EDITS_FROM = 9


@dataclass(frozen=True)
class Brand:
    """A protected brand: the labels impostors imitate and the domains it really owns."""

    name: str
    tokens: tuple[str, ...]
    domains: tuple[str, ...]
    kind: str = "platform"
    # Tokens that are everyday words ("apple", "orange"): they count only next to a service/scam word.
    context: frozenset[str] = frozenset()
    # Tokens that are first names ("lydia", "ameli"): whole words in hosts, need context in e-mail locals.
    names: frozenset[str] = frozenset()
    # Worldwide brand with many honest country domains (google.ca, amazon.de).
    worldwide: bool = False
    # Words that, next to a context/short token, make it the brand ("apple" + "icloud", "orange" + "sms").
    context_words: tuple[str, ...] = ()

    def token_class(self, token: str) -> str:
        """ "short" (< 5 chars), "context", "name" or "plain": how much evidence the token needs."""
        if len(token) < MIN_FUZZY_TOKEN:
            return "short"
        if token in self.context:
            return "context"
        if token in self.names:
            return "name"
        return "plain"


class BrandIndex:
    """Brand tokens indexed so that checking a word costs O(its length), whatever the number of brands.

    Exact tokens and confusable skeletons are dict look-ups; edit distance goes through a
    symmetric-deletion index (every token skeleton with one or two letters deleted), so only the rare
    real candidates are verified with Damerau-Levenshtein; substrings go through one Aho-Corasick pass.
    """

    def __init__(self, brands: Iterable[Brand]) -> None:
        self.brands = tuple(brands)
        self.exact: dict[str, Brand] = {}
        self.by_skeleton: dict[str, tuple[Brand, str]] = {}
        self.deletions: dict[str, list[tuple[str, str, Brand]]] = {}
        self.domains: dict[str, Brand] = {}
        self._anywhere = ahocorasick.Automaton()
        self._embedded = ahocorasick.Automaton()
        for brand in self.brands:
            for token in brand.tokens:
                flat = token.replace("-", "").lower()
                skel = skeleton(flat)
                self.exact.setdefault(flat, brand)
                self.by_skeleton.setdefault(skel, (brand, flat))
                if len(flat) >= MIN_FUZZY_TOKEN:
                    depth = 2 if len(flat) >= TWO_EDITS_FROM else 1
                    for variant in deletions(skel, depth):
                        self.deletions.setdefault(variant, []).append((skel, flat, brand))
                    self._anywhere.add_word(skel, (skel, brand, flat))
            for domain in brand.domains:
                self.domains.setdefault(domain, brand)
                if "." in domain:
                    self._embedded.add_word(domain, (domain, brand))
        lengths = [len(key) for values in self.deletions.values() for key, _, _ in values] or [0]
        self._min_len, self._max_len = min(lengths), max(lengths)
        # Message streams repeat the same hosts: memoize per index (bounded, values are immutable).
        self.match_word = lru_cache(maxsize=32768)(self.match_word)  # type: ignore[method-assign]
        for automaton in (self._anywhere, self._embedded):
            if len(automaton) == 0:
                automaton.add_word("\x00", None)  # pyahocorasick cannot finalize an empty automaton
            automaton.make_automaton()

    def match_word(self, word: str) -> tuple[Brand, str, str, int] | None:
        """Match one word (hyphens ignored) against brand tokens: (brand, token, technique, distance).

        technique: "exact", "homoglyph" (ASCII look-alike skeleton), "idn_homograph" (non-ASCII),
        an edit name from `classify_edit`, "two_edits" or "homoglyph_typo".
        """
        flat = word.replace("-", "")
        if not flat:
            return None
        if flat in self.exact:
            return self.exact[flat], flat, "exact", 0
        skel = skeleton(flat)
        if skel in self.by_skeleton:
            brand, token = self.by_skeleton[skel]
            return brand, token, "idn_homograph" if not flat.isascii() else "homoglyph", 0
        if len(skel) < MIN_FUZZY_TOKEN - 1 or len(skel) > 40:
            return None
        best: tuple[Brand, str, str, int] | None = None
        seen: set[str] = set()
        if not self._min_len - 2 <= len(skel) <= self._max_len + 2:
            return None
        # Two deletions only where a two-edit token (9+ letters) can be within reach.
        depth = 2 if TWO_EDITS_FROM - 2 <= len(skel) <= self._max_len + 2 else 1
        for variant in deletions(skel, depth):
            for token_skel, token, brand in self.deletions.get(variant, ()):
                if token_skel in seen:
                    continue
                seen.add(token_skel)
                limit = 2 if len(token) >= TWO_EDITS_FROM else 1
                distance = damerau_levenshtein(skel, token_skel, limit)
                if distance > limit or (best is not None and distance >= best[3]):
                    continue
                if distance == 2:
                    technique = "two_edits"
                elif flat.isascii() and damerau_levenshtein(flat, token, 1) == 1:
                    technique = classify_edit(flat, token)
                else:
                    technique = "homoglyph_typo"
                best = (brand, token, technique, distance)
        return best

    def find_inside(self, text: str) -> list[tuple[Brand, str]]:
        """Brand tokens of 5+ characters anywhere in the skeleton of `text`: (brand, token)."""
        return [(brand, token) for _, (_, brand, token) in self._anywhere.iter(skeleton(text))]

    def find_embedded_domain(self, host: str, registrable: str) -> tuple[Brand, str] | None:
        """A brand's real domain written inside a host that is not under it: in the subdomain part
        (`leboncoin.fr.evil.com`) or glued to the registrable label (`paypal.com-receive.money`)."""
        registrable_start = len(host) - len(registrable)
        for end, value in self._embedded.iter(host):
            if value is None:
                continue
            domain, brand = value
            start = end - len(domain) + 1
            before = host[start - 1] if start > 0 else "."
            after = host[end + 1] if end + 1 < len(host) else ""
            in_subdomain = end < registrable_start - 1 and after == "."
            if before in ".-" and (in_subdomain or after == "-") and not is_under(host, domain):
                return brand, domain
        return None
