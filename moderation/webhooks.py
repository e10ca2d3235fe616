"""Webhook signing (Stripe-style, with replay protection) and the transactional outbox queries.

Header: ``Vigie-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``.
Signing the timestamp with the body lets a receiver reject a captured request replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from moderation.clock import utcnow
from moderation.models import WebhookEvent

SIGNATURE_HEADER = "Vigie-Signature"
EVENT_ID_HEADER = "Vigie-Event-Id"
EVENT_TYPE_HEADER = "Vigie-Event-Type"
# A delivery in flight is not handed out again before this lease expires.
DELIVERY_LEASE = timedelta(seconds=60)
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 3600.0


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The `Vigie-Signature` header value for `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, header: str, body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """True when `header` is a valid signature of `body` made less than `tolerance_s` from `now`.

    Constant-time comparison; a stale (or far-future) timestamp is rejected so that a captured
    request cannot be replayed. Several `v1=` values are accepted (secret rotation).
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).partition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def backoff_delay(
    attempts: int, rng: random.Random | None = None, base_s: float = BACKOFF_BASE_S
) -> timedelta:
    """Delay before the next try after `attempts` failed ones: exponential from `base_s`, capped,
    jittered.

    Jitter spreads the retries of many events that failed together (receiver outage).
    """
    ceiling = min(BACKOFF_CAP_S, base_s * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


def add_event(
    session: Session, event_type: str, subject_id: str, data: dict[str, Any], now: datetime | None = None
) -> WebhookEvent:
    """Add a pending event to the outbox, due immediately. Does not commit.

    The stored payload is the body that will be sent: {id, type, created_at, data}.
    """
    now = now or utcnow()
    event_id = uuid.uuid4().hex
    event = WebhookEvent(
        id=event_id,
        event_type=event_type,
        subject_id=subject_id,
        payload={"id": event_id, "type": event_type, "created_at": now.isoformat(), "data": data},
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(event)
    session.flush()
    return event


def add_events(
    session: Session, events: Sequence[tuple[str, str, dict[str, Any]]], now: datetime | None = None
) -> list[str]:
    """Batch form of `add_event`: (event_type, subject_id, data) events added to the outbox in one
    multi-row INSERT, due immediately; returns their ids, in order. Does not commit."""
    now = now or utcnow()
    rows: list[dict[str, Any]] = []
    for event_type, subject_id, data in events:
        event_id = uuid.uuid4().hex
        rows.append(
            {
                "id": event_id,
                "event_type": event_type,
                "subject_id": subject_id,
                "payload": {"id": event_id, "type": event_type, "created_at": now.isoformat(), "data": data},
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    if rows:
        session.execute(insert(WebhookEvent), rows)
    return [row["id"] for row in rows]


def due_events(session: Session, now: datetime, limit: int) -> list[WebhookEvent]:
    """Pending events whose next attempt is due at `now`, oldest first."""
    return list(
        session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.status == "pending", WebhookEvent.next_attempt_at <= now)
            .order_by(WebhookEvent.next_attempt_at)
            .limit(limit)
        )
    )


def pending_event_ids(session: Session, subject_ids: list[str]) -> list[str]:
    """Ids of pending events about these subjects (to enqueue their delivery right after commit)."""
    if not subject_ids:
        return []
    return list(
        session.scalars(
            select(WebhookEvent.id).where(
                WebhookEvent.subject_id.in_(subject_ids), WebhookEvent.status == "pending"
            )
        )
    )


def lease(session: Session, event_ids: list[str], now: datetime) -> None:
    """Push the next attempt of events just handed to a worker past DELIVERY_LEASE. Does not commit."""
    if event_ids:
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_(event_ids), WebhookEvent.status == "pending")
            .values(next_attempt_at=now + DELIVERY_LEASE)
        )


def mark_delivered(session: Session, event_id: str, now: datetime) -> None:
    """The receiver acknowledged the event (2xx). Does not commit."""
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id)
        .values(status="delivered", delivered_at=now, attempts=WebhookEvent.attempts + 1, last_error=None)
    )


def mark_failed_attempt(
    session: Session, event_id: str, error: str, next_at: datetime | None, permanent: bool = False
) -> None:
    """Record a failed attempt. The event stays pending until `next_at`, or becomes `failed` when
    `permanent` or when there is no next attempt (`next_at` None). Does not commit."""
    failed = permanent or next_at is None
    values: dict[str, Any] = {"attempts": WebhookEvent.attempts + 1, "last_error": error[:1000]}
    if failed:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = next_at
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id, WebhookEvent.status == "pending")
        .values(**values)
    )
