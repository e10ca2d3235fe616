"""Persistence of the user side: safety warnings, warning telemetry, user reports, reporter reputation.

Same declarative `Base` as `moderation.models`, so one metadata (and one Alembic history) covers every
table; migration 0003 creates exactly these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from moderation.clock import utcnow
from moderation.models import Base


class SafetyWarning(Base):
    """One warning shown to the recipient of a message, for one scam category (UNIQUE per category).

    Wording is not stored: it is rendered from the catalogue in the reader's language, from the
    sanitised `evidence` values kept here. `catalogue_version` records the wording in force when the
    warning was issued (what the verdict webhook carried).
    """

    __tablename__ = "safety_warnings"
    __table_args__ = (
        UniqueConstraint("submission_id", "category", name="uq_safety_warnings_submission_category"),
        Index("ix_safety_warnings_conversation_status", "conversation_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    revision: Mapped[int]
    conversation_id: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(200))  # the platform's external_id
    recipient_id: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))  # info | caution | danger
    lang: Mapped[str] = mapped_column(String(8))  # the recipient's locale at issue time
    sender_type: Mapped[str] = mapped_column(String(16))  # individual | pro
    evidence: Mapped[dict[str, Any]]
    catalogue_version: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | cleared
    source: Mapped[str] = mapped_column(String(16), default="assessment")  # assessment | decision
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None]


class WarningEvent(Base):
    """What the recipient did with a warning (telemetry): shown, dismissed, clicked_through, reported."""

    __tablename__ = "warning_events"
    __table_args__ = (Index("ix_warning_events_category_event", "category", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    warning_id: Mapped[str] = mapped_column(ForeignKey("safety_warnings.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(40))  # copied so stats need no join
    event: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserReport(Base):
    """A user's report of a message or listing; one per (reporter, item), repeats return it."""

    __tablename__ = "user_reports"
    __table_args__ = (
        UniqueConstraint("reporter_id", "kind", "external_id", name="uq_user_reports_reporter_item"),
        Index("ix_user_reports_reporter_created", "reporter_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reporter_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200))
    submission_id: Mapped[str | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL"), index=True
    )
    reason: Mapped[str] = mapped_column(String(30))
    text: Mapped[str | None] = mapped_column(Text)
    reporter_locale: Mapped[str] = mapped_column(String(8))
    weight: Mapped[float]  # the reporter's weight when the report joined the queue
    review_item_id: Mapped[str | None] = mapped_column(String(32))
    # received | in_review | action_taken | no_violation; read-time status also looks at the review item.
    status: Mapped[str] = mapped_column(String(16), default="received")
    outcome_reason: Mapped[str | None] = mapped_column(String(60))
    outcome_categories: Mapped[list[Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class ReporterReputation(Base):
    """How often a reporter's reports were confirmed by moderators; drives their report weight."""

    __tablename__ = "reporter_reputations"

    reporter_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    reports: Mapped[int] = mapped_column(default=0)
    confirmed: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
