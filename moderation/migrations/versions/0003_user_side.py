"""User side: safety warnings, warning telemetry, user reports, reporter reputation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:00:00

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "safety_warnings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("submission_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("recipient_id", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("sender_type", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("catalogue_version", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("cleared_at", nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", "category", name="uq_safety_warnings_submission_category"),
    )
    with op.batch_alter_table("safety_warnings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_safety_warnings_conversation_status", ["conversation_id", "status"], unique=False
        )

    op.create_table(
        "warning_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("warning_id", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["warning_id"], ["safety_warnings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("warning_events", schema=None) as batch_op:
        batch_op.create_index("ix_warning_events_category_event", ["category", "event"], unique=False)
        batch_op.create_index(batch_op.f("ix_warning_events_warning_id"), ["warning_id"], unique=False)

    op.create_table(
        "user_reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reporter_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("submission_id", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("reporter_locale", sa.String(length=8), nullable=False),
        sa.Column("weight", sa.Double(), nullable=False),
        sa.Column("review_item_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome_reason", sa.String(length=60), nullable=True),
        sa.Column("outcome_categories", sa.JSON(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("decided_at", nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reporter_id", "kind", "external_id", name="uq_user_reports_reporter_item"),
    )
    with op.batch_alter_table("user_reports", schema=None) as batch_op:
        batch_op.create_index("ix_user_reports_reporter_created", ["reporter_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_reports_submission_id"), ["submission_id"], unique=False)

    op.create_table(
        "reporter_reputations",
        sa.Column("reporter_id", sa.String(length=200), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("reporter_id"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("reporter_reputations")
    with op.batch_alter_table("user_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_reports_submission_id"))
        batch_op.drop_index("ix_user_reports_reporter_created")
    op.drop_table("user_reports")
    with op.batch_alter_table("warning_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warning_events_warning_id"))
        batch_op.drop_index("ix_warning_events_category_event")
    op.drop_table("warning_events")
    with op.batch_alter_table("safety_warnings", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_warnings_conversation_status")
    op.drop_table("safety_warnings")
