"""Brand-independent URL risk: shapes that hide or disguise a destination.

Shorteners, IP hosts, sites anyone can publish on (free hosting, page builders, storage buckets,
dynamic DNS, IPFS gateways), suspicious TLDs, machine-made or overlong labels, userinfo tricks, odd
ports and credential-phishing words in the host; what the path shows is `scoring.url_path`'s. Each is
a weak `phishing_link`/`url_shortener` signal: a weight, rarely a verdict on its own.
"""

from __future__ import annotations

import re
from typing import Any

import ahocorasick

from scoring.domain_signal import DomainLists, DomainSignal, under_any
from scoring.domains import HostParts, ParsedUrl, decode_idna, is_ip_literal, split_host
from scoring.types import Category
from scoring.url_path import path_signals

_VOWELS = frozenset("aeiouy")
_STANDARD_PORTS = frozenset({80, 443})
# A shortened link hides where it goes: enough to warn on its own (the project's honest fixtures carry
# none, its scam scripts many), never to hold.
SHORTENER_WEIGHT = 0.5
# One credential-kit word in a host ("secure", "update", "login") names many honest hosts
# (windowsupdate.com, gologin.com): kept under the rule evidence that lets the text model add its
# weight ([fusion] model_support_min_rule, 0.30 in rules 2025.2).
WEAK_HOST_WORD = 0.25
# A site on a host anyone can publish on, a TLD over-represented in phishing reports, a machine-made
# label: weak alone, they add up with each other and with what the path shows.
FREE_HOSTING_WEIGHT = 0.35
BRAND_PLATFORM_WEIGHT = 0.3
SUSPICIOUS_TLD_WEIGHT = 0.15
RANDOM_LABEL_WEIGHT = 0.2
# Dynamic DNS names point anywhere their owner says and change by the minute; raw IPFS gateways serve
# content no one can take down: both are infrastructure of throwaway pages more than of shops.
DYNAMIC_DNS_WEIGHT = 0.45
IPFS_GATEWAY_WEIGHT = 0.45
STORAGE_PAGE_WEIGHT = 0.25
# A page published by path on a form/survey/link-in-bio/note/design platform, and a link through a
# mass-mailing click tracker or an anonymous redirector: no honest use in a buyer-seller conversation,
# so like a public shortener they warn alone ([thresholds.message] warn 0.50), never hold.
USER_PAGE_WEIGHT = 0.5
CLICK_TRACKER_WEIGHT = 0.5
_DYNAMIC_DNS = frozenset(
    {
        "duckdns.org",
        "no-ip.org",
        "no-ip.biz",
        "no-ip.info",
        "noip.me",
        "ddns.net",
        "hopto.org",
        "zapto.org",
        "myftp.org",
        "myftp.biz",
        "sytes.net",
        "servegame.com",
        "serveftp.com",
        "servehttp.com",
        "redirectme.net",
        "dyndns.org",
        "dynv6.net",
        "dynu.net",
        "mooo.com",
        "chickenkiller.com",
        "ydns.eu",
        "ddnsfree.com",
        "freeddns.org",
        "dns.army",
        "linkpc.net",
        "webhop.me",
        "3utilities.com",
        "bounceme.net",
        "gotdns.ch",
        "myddns.me",
    }
)
_IPFS_GATEWAYS = frozenset(
    {
        "ipfs.io",
        "dweb.link",
        "ipfs.dweb.link",
        "cloudflare-ipfs.com",
        "w3s.link",
        "nftstorage.link",
        "fleek.co",
        "4everland.io",
        "infura-ipfs.io",
        "gateway.pinata.cloud",
        "ipfs.fleek.co",
    }
)
_OBJECT_STORAGE = frozenset(
    {
        "amazonaws.com",
        "storage.googleapis.com",
        "firebasestorage.googleapis.com",
        "blob.core.windows.net",
        "web.core.windows.net",
        "r2.dev",
        "backblazeb2.com",
        "digitaloceanspaces.com",
        "myqcloud.com",
        "aliyuncs.com",
        "linodeobjects.com",
    }
)
_PAGE_IN_STORAGE = re.compile(r"\.(?:s?html?|php)$", re.IGNORECASE)


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
            # A service under a shortener's domain (maps.app.goo.gl: Google Maps shares) is not the
            # public shortener anyone can point anywhere.
            public = host in (shortener, "www." + shortener)
            weight = SHORTENER_WEIGHT if public else 0.4
            add("url.shortener", Category.URL_SHORTENER, weight, "shortener", shortener=shortener)
            return out
        if shortener is not None:
            return out  # the shortener's own home page hides no destination
        published = parsed.path.strip("/?#")
        tracker = under_any(host, self.lists.click_trackers)
        if tracker is not None and published:
            # A mass-mailing click or an anonymous redirect hides its destination like a shortener.
            add(
                "url.click_tracker",
                Category.URL_SHORTENER,
                CLICK_TRACKER_WEIGHT,
                "click_tracker",
                tracker=tracker,
            )
            return out
        platform = under_any(host, self.lists.user_pages) if published else None
        if platform is not None:
            # A form, survey, link-in-bio page or shared note/design: someone's page on a platform
            # whose own name vouches for nothing; in a conversation it collects data off the platform.
            add("url.user_page", Category.PHISHING_LINK, USER_PAGE_WEIGHT, "user_page", platform=platform)
        if is_ip_literal(host):
            add("url.ip_host", Category.PHISHING_LINK, 0.55, "ip_literal")
        else:
            hosting = under_any(host, self.lists.free_hosting)
            parts = split_host(host)
            if hosting is None and parts.is_private_suffix and parts.label:
                # A PSL private suffix (bucket.s3.<region>.amazonaws.com, x.cloudfront.net) is a
                # platform that hands out names to its customers, whatever our list says.
                hosting = parts.suffix
            if platform is None and hosting is not None and (hosted_by_anyone(host, hosting) or published):
                technique, weight = hosting_kind(host)
                if not hosted_by_anyone(host, hosting) and technique == "free_hosting":
                    # Link-in-bio pages, form builders and note sharing publish a user's page by
                    # path (campsite.bio/<name>, forms.gle/<id>): the bare host is the platform.
                    technique = "published_by_path"
                if brand_found:
                    # A brand's own publishing service (docs.google.com): the brand signal judges the
                    # host, the hosting one stays at its old weight.
                    weight = min(weight, BRAND_PLATFORM_WEIGHT)
                add("url.free_hosting", Category.PHISHING_LINK, weight, technique, hosting=hosting)
                if technique == "object_storage" and _PAGE_IN_STORAGE.search(parsed.path.split("?", 1)[0]):
                    # A web page served straight from a storage bucket: a site with no site behind it.
                    add("url.storage_page", Category.PHISHING_LINK, STORAGE_PAGE_WEIGHT, "storage_page")
            tld = parts.suffix.rsplit(".", 1)[-1]
            if tld in self.lists.suspicious_tlds:
                add(
                    "url.suspicious_tld",
                    Category.PHISHING_LINK,
                    SUSPICIOUS_TLD_WEIGHT,
                    "suspicious_tld",
                    tld=tld,
                )
            label = decode_idna(parts.label)
            # One machine-made label is one piece of evidence: random-looking, or else digit/hyphen-heavy.
            if looks_random(label):
                add("url.random_label", Category.PHISHING_LINK, RANDOM_LABEL_WEIGHT, "random_label")
            elif label.count("-") >= 3 or sum(ch.isdigit() for ch in label) >= 5:
                add("url.odd_label", Category.PHISHING_LINK, 0.15, "hyphens_or_digits")
            if len(host) > 60:
                add("url.long_host", Category.PHISHING_LINK, 0.3 if len(host) > 120 else 0.15, "long_host")
            disguise = domain_inside(parts)
            if disguise:
                add(
                    "url.domain_in_subdomain",
                    Category.PHISHING_LINK,
                    0.5,
                    "domain_in_subdomain",
                    looks_like=disguise,
                )
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
                0.45 if len(host_words) >= 2 else WEAK_HOST_WORD,
                "phishing_words",
                words=sorted(host_words),
            )
        # What the path shows (kit pages, site internals, carried e-mails, hidden destinations).
        out.extend(path_signals(parsed.path, domain, host, risky_host=bool(out)))
        return out


# Top-level domains people recognise at a glance: written inside a host they make it read as that domain.
_GENERIC_TLDS = frozenset({"com", "net", "org", "gov", "edu", "co", "info", "biz"})
_COUNTRY_TLDS = frozenset(
    [
        "fr",
        "de",
        "nl",
        "pl",
        "jp",
        "uk",
        "es",
        "it",
        "be",
        "ch",
        "at",
        "ru",
        "br",
        "ca",
        "au",
        "us",
        "eu",
        "pt",
        "se",
        "no",
        "dk",
        "fi",
        "ie",
        "cz",
        "gr",
        "hu",
        "ro",
        "in",
        "cn",
        "kr",
        "mx",
    ]
)


def domain_inside(parts: HostParts) -> str:
    """The domain a host pretends to be when one is written inside it, else "".

    `mijn.overheid.nl.berichtenbox.evil.com` (a TLD label inside the sub-domain part) and
    `allegro.pl-oferta123.shop` (a TLD glued by a hyphen to the registrable label): the reader stops at
    the first familiar "name.tld". Region labels of SaaS hosts (`x.jp.larksuite.com`, `eu.jotform.com`)
    are not names: a country code counts only after an all-letter label of 3+ characters, and not as
    the last label before the registrable domain.
    """
    if not parts.subdomain:
        return ""
    labels = [label for label in parts.subdomain.split(".") if label != "www"]
    for i in range(1, len(labels)):
        prev, label = labels[i - 1], labels[i]
        # Right before the registrable domain a country code is a region ("x.eu.saasapp.com").
        country = label in _COUNTRY_TLDS and i < len(labels) - 1
        if label in _GENERIC_TLDS or (country and prev.isalpha() and len(prev) >= 3):
            return f"{prev}.{label}"
    head, dash, _ = parts.label.partition("-")
    last = labels[-1] if labels else ""
    # "www.ca-paris.fr" is a regional site: the name before the glued TLD must be a real label.
    if dash and (head in _GENERIC_TLDS or head in _COUNTRY_TLDS) and last.isalpha() and len(last) >= 4:
        return f"{last}.{head}"
    return ""


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
    # Six consonants in a row: English compounds reach five ("twitchtracker", "dutchtracking").
    return vowel_ratio < 0.2 or longest >= 6 or (digits >= 3 and len(letters) >= 3 and "-" not in label)


def hosting_kind(host: str) -> tuple[str, float]:
    """(technique, weight) of a site on a host anyone can use: dynamic DNS and IPFS gateways weigh
    more than site builders; buckets are told apart so that a page served from one can be."""
    if under_any(host, _DYNAMIC_DNS) is not None:
        return "dynamic_dns", DYNAMIC_DNS_WEIGHT
    if under_any(host, _IPFS_GATEWAYS) is not None:
        return "ipfs_gateway", IPFS_GATEWAY_WEIGHT
    if under_any(host, _OBJECT_STORAGE) is not None:
        return "object_storage", FREE_HOSTING_WEIGHT
    return "free_hosting", FREE_HOSTING_WEIGHT
