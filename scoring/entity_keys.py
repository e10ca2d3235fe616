"""The entities worth remembering across messages: payment handles, IBANs, wallets, phones, e-mails, domains.

A scammer reuses the same paypal.me handle, IBAN or phone number from many throw-away accounts; one
confirmed scam should taint every later message carrying it. `indexable_entities(item)` lists those
entities with a canonical `key` ("handle:paypal.me/jean75", "phone:+33612345678") for the shell's
index and block list, and their span in the ORIGINAL text so a reason can point at them.

Left out on purpose: amounts and SIRETs (not identities of a payee), and any domain that the domain
analyzer allows (the platform, banks, carriers), a URL shortener or a free-mail provider, since
thousands of honest accounts share those. Pure; the analyzer is the one the Scorer uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from scoring.domains import parse_url, registrable_domain
from scoring.extract import Entity
from scoring.text_analysis import analyze_text
from scoring.types import Category, ScoreInput

# What an entity shared by several accounts (or confirmed in a scam) says about a new message.
KIND_CATEGORY: dict[str, Category] = {
    "handle": Category.EXTERNAL_PAYMENT,
    "iban": Category.EXTERNAL_PAYMENT,
    "crypto": Category.EXTERNAL_PAYMENT,
    "phone": Category.OFF_PLATFORM,
    "email": Category.OFF_PLATFORM,
    "domain": Category.PHISHING_LINK,
}
MAX_ENTITIES = 16  # per item: a message pasting 500 numbers costs 16 lookups, not 500


@dataclass(frozen=True, slots=True)
class IndexedEntity:
    """One entity of one item, as the shell indexes it."""

    kind: str  # handle | iban | crypto | phone | email | domain
    value: str  # canonical: lower-case handle/e-mail/domain, E.164 phone, upper-case IBAN
    span: tuple[int, int]  # into `field` of the original item
    field: str
    evidence: str  # the original characters

    @property
    def key(self) -> str:
        """Stable identity across messages and accounts: "<kind>:<value>"."""
        return f"{self.kind}:{self.value}"

    @property
    def category(self) -> Category:
        """The scam mechanism this entity stands for."""
        if self.kind == "handle" and not self.value.startswith(("paypal", "lydia", "revolut")):
            return Category.OFF_PLATFORM
        return KIND_CATEGORY[self.kind]


@dataclass(frozen=True, slots=True)
class CommonDomains:
    """Domains thousands of honest accounts share, which identify nobody."""

    is_allowed: Callable[[str], bool]  # the platform, banks, carriers... (the analyzer's allow-list)
    shared: frozenset[str] = frozenset()  # shorteners, free hosting, free mail
    free_mail: frozenset[str] = frozenset()

    def link_is_common(self, host: str) -> bool:
        """A link to this host says nothing about who sent it."""
        return self.is_allowed(host) or host in self.shared or registrable_domain(host) in self.shared

    def address_is_common(self, address: str) -> bool:
        """noreply@leboncoin.fr is the platform itself; jean@gmail.com is a person, worth indexing."""
        domain = address.rsplit("@", 1)[-1]
        return self.is_allowed(domain) and registrable_domain(domain) not in self.free_mail


@lru_cache(maxsize=1)
def default_common_domains() -> CommonDomains:
    """From the shipped domain analyzer (loaded on first use, never at import)."""
    from scoring.lookalike import DomainAnalyzer

    analyzer = DomainAnalyzer.default()
    lists = analyzer.lists
    return CommonDomains(
        analyzer.is_allowed, lists.shorteners | lists.free_hosting | lists.free_mail, lists.free_mail
    )


def key_of(kind: str, value: str) -> str:
    """The `IndexedEntity.key` for a kind and a value typed by a person (moderator allow-list input)."""
    value = value.strip()
    if kind == "iban":
        value = value.replace(" ", "").upper()
    elif kind != "phone":
        value = value.lower()
    return f"{kind}:{value}"


def _from_entity(entity: Entity, field: str, original: str, common: CommonDomains) -> IndexedEntity | None:
    kind, value = entity.kind, entity.value
    if kind == "email":
        value = value.lower()
        if common.address_is_common(value):
            return None
    elif kind == "url":
        host = parse_url(value).host
        if not host or common.link_is_common(host):
            return None
        kind, value = "domain", registrable_domain(host)
    elif kind not in {"handle", "iban", "crypto", "phone"}:
        return None
    start, end = entity.span
    return IndexedEntity(kind, value, entity.span, field, original[start:end])


def indexable_entities(item: ScoreInput, common: CommonDomains | None = None) -> list[IndexedEntity]:
    """The item's indexable entities (text, then title), one per key, at most MAX_ENTITIES.

    `common` says which domains honest users share (default: `default_common_domains()`).
    """
    judge = common or default_common_domains()
    out: dict[str, IndexedEntity] = {}
    for field, original in (("text", item.text or ""), ("title", item.title or "")):
        if not original:
            continue
        entities = analyze_text(original).entities  # the Scorer reuses this analysis of the item
        handle_spans = {e.span for e in entities.handles}
        candidates: Iterable[Entity] = (
            entities.handles + entities.ibans + entities.crypto + entities.phones + entities.emails
            + tuple(u for u in entities.urls if u.span not in handle_spans)
        )  # fmt: skip
        for entity in candidates:
            indexed = _from_entity(entity, field, original, judge)
            if indexed is not None and indexed.key not in out:
                out[indexed.key] = indexed
            if len(out) >= MAX_ENTITIES:
                return list(out.values())
    return list(out.values())
