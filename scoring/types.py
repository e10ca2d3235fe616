"""Values exchanged with the scoring core (DESIGN.md contracts 2 and 3).

These are the stable shapes every layer above relies on: the API validates into
`ScoreInput`, workers persist `ScoreResult`, the batch CLI prints `ScoreResult.to_dict()`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """What the platform does with the content (ordered from mildest to strictest)."""

    ALLOW = "allow"  # nothing shown
    WARN = "warn"  # the recipient sees a safety warning
    REVIEW = "review"  # warning + moderator queue
    HOLD = "hold"  # not delivered until a moderator decides

    @property
    def rank(self) -> int:
        return _VERDICT_ORDER.index(self)


_VERDICT_ORDER = [Verdict.ALLOW, Verdict.WARN, Verdict.REVIEW, Verdict.HOLD]


class Category(StrEnum):
    """Scam mechanisms (DESIGN.md contract 3). String values are stable: they are stored and sent."""

    EXTERNAL_PAYMENT = "external_payment"
    FAKE_SECURE_PAYMENT = "fake_secure_payment"
    FAKE_DELIVERY = "fake_delivery"
    SPOOFED_DOMAIN = "spoofed_domain"
    OFF_PLATFORM = "off_platform"
    ADVANCE_FEE = "advance_fee"
    OVERPAYMENT = "overpayment"
    ACCOUNT_TAKEOVER = "account_takeover"
    URL_SHORTENER = "url_shortener"
    CAMPAIGN = "campaign"
    PHISHING_LINK = "phishing_link"  # a link whose shape alone is suspicious (no brand involved)


class Kind(StrEnum):
    MESSAGE = "message"
    LISTING = "listing"


@dataclass(frozen=True, slots=True)
class Sender:
    id: str | None = None
    email: str | None = None
    account_age_days: float | None = None
    is_pro: bool | None = None
    siret: str | None = None


@dataclass(frozen=True, slots=True)
class ScoreInput:
    """One piece of content to score. `text` is the message body or the listing description."""

    id: str
    kind: Kind
    text: str
    title: str | None = None
    price: float | None = None
    category: str | None = None
    conversation_id: str | None = None
    sender: Sender | None = None
    recipient_id: str | None = None
    lang: str | None = None  # "fr" | "en" when the platform knows it; detected otherwise


@dataclass(frozen=True, slots=True)
class Reason:
    """Why the score moved: one detector hit, with evidence pointing into the ORIGINAL text.

    `span` is [start, end) in characters of `field` ("text" or "title") of the input as received,
    so a console can highlight it and a test can check `original[start:end]`.
    """

    code: str  # stable machine code, e.g. "payment.paypal_friends"
    category: Category
    weight: float  # contribution in [0, 1] before fusion
    evidence: str  # the matched original substring (or a short description for non-text signals)
    span: tuple[int, int] | None
    field: str = "text"
    # e.g. {"brand": "leboncoin.fr", "domain": ...}
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "category": self.category.value,
            "weight": round(self.weight, 4),
            "evidence": self.evidence,
            "span": list(self.span) if self.span is not None else None,
            "field": self.field,
        }
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True, slots=True)
class ScoreResult:
    id: str
    score: float  # in [0, 1]
    verdict: Verdict
    categories: tuple[Category, ...]
    reasons: tuple[Reason, ...]
    model_version: str
    rules_version: str
    lang: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "score": round(self.score, 4),
            "verdict": self.verdict.value,
            "categories": [c.value for c in self.categories],
            "reasons": [r.to_dict() for r in self.reasons],
            "model_version": self.model_version,
            "rules_version": self.rules_version,
            "lang": self.lang,
        }


@dataclass(frozen=True, slots=True)
class PriorMessage:
    """An earlier message of the same conversation, as it was assessed (for conversation scoring).

    `categories` are the categories of its reasons (not only of its verdict: an allowed message may
    still have asked for an e-mail address); `sender_id` tells the scammer's turns from the victim's.
    """

    sender_id: str | None
    categories: frozenset[Category]
    verdict: Verdict | None = None


@dataclass(frozen=True, slots=True)
class ScoreContext:
    """What the shell knows around one item beyond its own text (optional input of `Scorer.score`).

    `reasons` come from campaign, shared-entity, sender and block-list signals and are fused with
    the item's own reasons by the same fusion and policy; `history` is the conversation so far,
    oldest first, matched against scam scripts.
    """

    reasons: tuple[Reason, ...] = ()
    history: tuple[PriorMessage, ...] = ()
