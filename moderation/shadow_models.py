"""Shadow assessments: what a candidate rule pack or model would have said about live traffic.

One row per (submission, revision, candidate), written next to the active assessment but never
acted on: no warning, review item, webhook or audit event comes from it. The active side's verdict
is copied in so that a report is one table scan, and stays true even if the active assessment is
later purged or the active version changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from moderation.clock import utcnow
from moderation.models import Base


class ShadowAssessment(Base):
    """A candidate's verdict on one revision, with the active verdict it is compared to."""

    __tablename__ = "shadow_assessments"
    __table_args__ = (
        UniqueConstraint(
            "submission_id", "revision", "candidate_name", name="uq_shadow_assessments_submission_candidate"
        ),
        Index("ix_shadow_assessments_candidate_created_at", "candidate_name", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    revision: Mapped[int]
    candidate_name: Mapped[str] = mapped_column(String(100))
    rules_version: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(100))
    score: Mapped[float]
    verdict: Mapped[str] = mapped_column(String(16))
    categories: Mapped[list[Any]]
    active_verdict: Mapped[str] = mapped_column(String(16))
    active_score: Mapped[float]
    active_categories: Mapped[list[Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
