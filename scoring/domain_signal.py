"""What the domain analyzer reports (`DomainSignal`) and the non-brand lists it reads (`DomainLists`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scoring.types import Category


@dataclass(frozen=True)
class DomainSignal:
    """One finding about a link or a sender domain. `weight` is in [0, 1] before fusion.

    `detail` always has "domain" (registrable domain), "brand" (brand name or None) and "technique".
    """

    code: str
    category: Category
    weight: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DomainLists:
    """Non-brand lists from brands.toml, normalized."""

    allow: frozenset[str] = frozenset()
    shorteners: frozenset[str] = frozenset()
    free_hosting: frozenset[str] = frozenset()
    user_pages: frozenset[str] = frozenset()
    click_trackers: frozenset[str] = frozenset()
    free_mail: frozenset[str] = frozenset()
    suspicious_tlds: frozenset[str] = frozenset()
    delivery_words: tuple[str, ...] = ()
    payment_words: tuple[str, ...] = ()
    service_words: frozenset[str] = frozenset()
    phishing_words: tuple[str, ...] = ()


def under_any(host: str, domains: frozenset[str]) -> str | None:
    """The entry of `domains` that `host` is (or is a subdomain of), walking labels right to left."""
    labels = host.split(".")
    for i in range(len(labels) - 1, -1, -1):
        candidate = ".".join(labels[i:])
        if candidate in domains:
            return candidate
    return None
