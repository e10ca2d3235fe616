"""Index submissions by (conversation_id, created_at) instead of conversation_id alone.

The worker's conversation-history read (`moderation.conversation_history`) asks, per conversation in a
batch, for the messages at or before a time, newest first, with a window function. With an index on
conversation_id alone the database read every row of each conversation and sorted it; the composite
index serves the filter and the order, and its prefix still serves lookups by conversation_id alone, so
the single-column index it replaces would only cost writes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 20:30:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # Plain CREATE/DROP INDEX (no batch mode): SQLite must not copy the submissions table.
    op.create_index(
        "ix_submissions_conversation_created", "submissions", ["conversation_id", "created_at"], unique=False
    )
    op.drop_index("ix_submissions_conversation_id", table_name="submissions")


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index("ix_submissions_conversation_id", "submissions", ["conversation_id"], unique=False)
    op.drop_index("ix_submissions_conversation_created", table_name="submissions")
