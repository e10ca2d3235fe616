"""Append-only audit trail of who did what to which subject."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from moderation.models import AuditEvent

SYSTEM_ACTOR = "system"


def actor_for_key(name: str) -> str:
    """The actor string recorded for requests made with the API key called `name`."""
    return f"key:{name}"


def record(
    session: Session,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session (the caller commits it with the change it describes).

    `data` must not contain message text, e-mail addresses or keys: audit rows outlive content.
    """
    event = AuditEvent(
        actor=actor, action=action, subject_type=subject_type, subject_id=subject_id, data=data or {}
    )
    session.add(event)
    return event


def events_about(session: Session, subject_id: str, after_id: int = 0, limit: int = 50) -> list[AuditEvent]:
    """Audit events about `subject_id` (any subject type), oldest first, with id > `after_id`
    (keyset pagination: pass the last id seen)."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_id == subject_id, AuditEvent.id > after_id)
            .order_by(AuditEvent.id)
            .limit(limit)
        )
    )


def record_many(
    session: Session, events: Sequence[tuple[str, str, str, str, dict[str, Any]]], at: datetime
) -> None:
    """Insert audit events (actor, action, subject_type, subject_id, data) in one statement, in order.

    For batch paths, where one ORM object and flush per event cost more than the work they describe.
    """
    if events:
        session.execute(
            insert(AuditEvent),
            [
                {"at": at, "actor": a, "action": b, "subject_type": c, "subject_id": d, "data": e}
                for a, b, c, d, e in events
            ],
        )
