"""Index assessments by creation time: the quality dashboard reads a 12-week window of them.

`moderation.quality` filters assessments on `created_at >= <window start>` in each of its queries
(versions, weekly histograms, labelled joins); without an index every console statistics view and
uncached /metrics scrape read the whole table, which only grows (verdicts outlive the purge).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 18:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # A plain CREATE INDEX (no batch mode): it must never make SQLite copy this large table.
    op.create_index("ix_assessments_created_at", "assessments", ["created_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_assessments_created_at", table_name="assessments")
