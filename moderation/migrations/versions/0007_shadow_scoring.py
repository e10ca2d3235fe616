"""Shadow scoring: a candidate rule pack or model's verdicts on live traffic, never acted on.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 17:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "shadow_assessments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("candidate_name", sa.String(length=100), nullable=False),
        sa.Column("rules_version", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("active_verdict", sa.String(length=16), nullable=False),
        sa.Column("active_score", sa.Double(), nullable=False),
        sa.Column("active_categories", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "submission_id", "revision", "candidate_name", name="uq_shadow_assessments_submission_candidate"
        ),
    )
    with op.batch_alter_table("shadow_assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_shadow_assessments_candidate_created_at", ["candidate_name", "created_at"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("shadow_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_shadow_assessments_candidate_created_at")
    op.drop_table("shadow_assessments")
