"""Persistence of the model registry: every trained scoring model, its evaluation and its status.

The artifact bytes live in the database (not on one machine's disk) so that workers on several
machines load exactly the same model; `version` is the artifact's content hash, so a row is
verifiable against its bytes. Migration 0006 creates exactly this table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from moderation.clock import utcnow
from moderation.models import Base


class ModelVersion(Base):
    """One trained model: `candidate` until promoted, `active` (one per kind), `retired`, `rejected`.

    `metrics` holds the candidate's and the then-active model's figures on the same held-out split
    (what the promotion gate compares); `trained_on` counts fixtures and labels with the labels'
    time range; `previous_active` is the version that was active when this one was promoted, what
    a rollback returns to.
    """

    __tablename__ = "model_versions"
    __table_args__ = (
        Index("ix_model_versions_kind_status", "kind", "status"),
        # At most one active model per kind, whatever two concurrent promotions do.
        Index(
            "uq_model_versions_one_active",
            "kind",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    version: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # text | url
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    metadata_json: Mapped[dict[str, Any]] = mapped_column("metadata")
    metrics: Mapped[dict[str, Any]]
    trained_on: Mapped[dict[str, Any]]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    promoted_at: Mapped[datetime | None]
    promoted_by: Mapped[str | None] = mapped_column(String(200))
    previous_active: Mapped[str | None] = mapped_column(String(100))
