"""Brand-independent URL risk: shapes that hide or disguise a destination.

Shorteners, IP hosts, sites anyone can publish on (free hosting, page builders, storage buckets),
suspicious TLDs, machine-made or overlong labels, userinfo tricks, odd ports and credential-phishing
words in the host or path. Each is a weak `phishing_link`/`url_shortener` signal: a weight, never a
verdict on its own.
"""

from __future__ import annotations

from typing import Any

import ahocorasick

from scoring.domain_signal import DomainLists, DomainSignal, under_any
from scoring.domains import ParsedUrl, decode_idna, is_ip_literal, split_host
from scoring.skeleton import fold_accents
from scoring.types import Category

_VOWELS = frozenset("aeiouy")
_STANDARD_PORTS = frozenset({80, 443})


class UrlShapes:
    """Scores the shape of a URL against the lists of brands.toml (immutable, thread-safe)."""

    def __init__(self, lists: DomainLists) -> None:
        self.lists = lists
        self._phishing_words = ahocorasick.Automaton()
        for word in lists.phishing_words or ("\x00",):
            self._phishing_words.add_word(word, word)
        self._phishing_words.make_automaton()

    def signals(self, parsed: ParsedUrl, domain: str, brand_found: bool) -> list[DomainSignal]:
        """Brand-independent URL risk: shorteners, IP hosts, free hosting, odd labels, suspicious TLDs..."""
        host = parsed.host
        out: list[DomainSignal] = []

        def add(code: str, category: Category, weight: float, technique: str, **extra: Any) -> None:
            out.append(
                DomainSignal(
                    code, category, weight, {"domain": domain, "brand": None, "technique": technique, **extra}
                )
            )

        shortener = under_any(host, self.lists.shorteners)
        if shortener is not None and parsed.path.strip("/"):
            add("url.shortener", Category.URL_SHORTENER, 0.4, "shortener", shortener=shortener)
            return out
        if shortener is not None:
            return out  # the shortener's own home page hides no destination
        if is_ip_literal(host):
            add("url.ip_host", Category.PHISHING_LINK, 0.55, "ip_literal")
        else:
            hosting = under_any(host, self.lists.free_hosting)
            parts = split_host(host)
            if hosting is None and parts.is_private_suffix and parts.label:
                # A PSL private suffix (bucket.s3.<region>.amazonaws.com, x.cloudfront.net) is a
                # platform that hands out names to its customers, whatever our list says.
                hosting = parts.suffix
            if hosting is not None and hosted_by_anyone(host, hosting):
                add("url.free_hosting", Category.PHISHING_LINK, 0.3, "free_hosting", hosting=hosting)
            tld = parts.suffix.rsplit(".", 1)[-1]
            if tld in self.lists.suspicious_tlds:
                add("url.suspicious_tld", Category.PHISHING_LINK, 0.15, "suspicious_tld", tld=tld)
            label = decode_idna(parts.label)
            if label.count("-") >= 3 or sum(ch.isdigit() for ch in label) >= 5:
                add("url.odd_label", Category.PHISHING_LINK, 0.15, "hyphens_or_digits")
            if looks_random(label):
                add("url.random_label", Category.PHISHING_LINK, 0.2, "random_label")
            if len(host) > 60:
                add("url.long_host", Category.PHISHING_LINK, 0.3 if len(host) > 120 else 0.15, "long_host")
            if parts.subdomain.count(".") >= 3:
                add("url.deep_subdomains", Category.PHISHING_LINK, 0.15, "deep_subdomains")
            if not brand_found and host != parsed.unicode_host:
                add("url.idn", Category.PHISHING_LINK, 0.3, "idn_no_brand")
        if parsed.userinfo:
            add("url.userinfo", Category.PHISHING_LINK, 0.5, "userinfo")
        if parsed.port is not None and parsed.port not in _STANDARD_PORTS:
            add("url.port", Category.PHISHING_LINK, 0.15, "non_standard_port", port=parsed.port)
        host_words = {w for _, w in self._phishing_words.iter(host)} if self.lists.phishing_words else set()
        host_words = {w for w in host_words if not any(w != o and w in o for o in host_words)}
        if host_words:
            # One kit word ("secure") names many honest hosts; two ("confirm" + "account") rarely do.
            add(
                "url.phishing_words_host",
                Category.PHISHING_LINK,
                0.45 if len(host_words) >= 2 else 0.3,
                "phishing_words",
                words=sorted(host_words),
            )
        elif parsed.path and self.lists.phishing_words:
            path_words = {w for _, w in self._phishing_words.iter(fold_accents(parsed.path))}
            if path_words:
                add(
                    "url.phishing_words_path",
                    Category.PHISHING_LINK,
                    0.1,
                    "phishing_words",
                    words=sorted(path_words),
                )
        return out


def hosted_by_anyone(host: str, base: str) -> bool:
    """True when `host` serves pages anyone can publish: a site under a free-hosting base
    (`x.weebly.com`), or a host that publishes by path (`sites.google.com/view/x`, `docs.google.com`)."""
    if host != base and host != "www." + base:
        return True
    return split_host(base).registrable != base


def looks_random(label: str) -> bool:
    """Machine-made labels (`xj3k9qwzt`, `a8f3e1c9b2`): few vowels, long consonant runs, mixed digits."""
    if len(label) < 8 or not label.isascii():
        return False
    letters = [ch for ch in label if ch.isalpha()]
    if not letters:
        return False
    vowel_ratio = sum(ch in _VOWELS for ch in letters) / len(letters)
    run = longest = 0
    for ch in label:
        run = run + 1 if ch.isalpha() and ch not in _VOWELS else 0
        longest = max(longest, run)
    digits = sum(ch.isdigit() for ch in label)
    return vowel_ratio < 0.2 or longest >= 5 or (digits >= 3 and len(letters) >= 3 and "-" not in label)
