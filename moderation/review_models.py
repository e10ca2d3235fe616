"""Persistence of the review side: moderators, review items (the queue), decisions and labels.

Same declarative `Base` as `moderation.models`, so one metadata (and one Alembic history) covers
every table; migration 0002 creates exactly these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moderation.clock import utcnow
from moderation.models import Base


class Moderator(Base):
    """A person who works the queue. Password hashes only (scrypt); API keys point here."""

    __tablename__ = "moderators"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    is_senior: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]


class ReviewItem(Base):
    """The single review item of a submission (UNIQUE submission_id), reopened rather than duplicated.

    `sort_key` = base priority - AGE_POINTS_PER_HOUR * hours(opened_at since epoch): ordering by it
    is ordering by "priority that grows with waiting time" while staying a static, indexable column.
    `version` increments on every change a moderator could have missed (ETag / If-Match).
    """

    __tablename__ = "review_items"
    __table_args__ = (Index("ix_review_items_status_queue_sort", "status", "queue", "sort_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), unique=True)
    revision: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | decided | needs_info
    queue: Mapped[str] = mapped_column(String(16), default="standard")  # standard | senior
    priority: Mapped[float]
    sort_key: Mapped[float]
    score: Mapped[float | None]
    verdict: Mapped[str | None] = mapped_column(String(16))
    categories: Mapped[list[Any]]
    lang: Mapped[str | None] = mapped_column(String(8))
    sender_id: Mapped[str | None] = mapped_column(String(200), index=True)
    sender_is_pro: Mapped[bool | None] = mapped_column(Boolean)
    sender_new_account: Mapped[bool] = mapped_column(Boolean, default=False)
    sources: Mapped[list[Any]]
    report_count: Mapped[int] = mapped_column(default=0)
    report_weight: Mapped[float] = mapped_column(default=0.0)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None]
    assigned_to: Mapped[str | None] = mapped_column(String(32))
    escalation_note: Mapped[str | None] = mapped_column(Text)
    appeal_text: Mapped[str | None] = mapped_column(Text)
    appeal_at: Mapped[datetime | None]
    # The moderator whose decision is under appeal: they may not decide the appeal.
    appeal_excluded_moderator: Mapped[str | None] = mapped_column(String(32))
    last_decision_id: Mapped[int | None]
    version: Mapped[int] = mapped_column(default=1)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Decision(Base):
    """What a moderator decided about an item, and why. Undo marks it, never deletes it."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[str] = mapped_column(String(32), index=True)
    revision: Mapped[int]
    moderator_id: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(20))  # confirm_scam | not_scam | needs_info
    reason: Mapped[str] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)
    actions: Mapped[dict[str, Any]]
    categories: Mapped[list[Any]]
    on_appeal: Mapped[bool] = mapped_column(Boolean, default=False)
    statement: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[str | None] = mapped_column(String(32))


class Label(Base):
    """A training label from a moderator decision; `retracted_at` is set when the decision is undone."""

    __tablename__ = "labels"
    __table_args__ = (Index("ix_labels_submission_revision", "submission_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int]
    label: Mapped[str] = mapped_column(String(16))  # scam | not_scam
    moderator_id: Mapped[str] = mapped_column(String(32))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    retracted_at: Mapped[datetime | None]
