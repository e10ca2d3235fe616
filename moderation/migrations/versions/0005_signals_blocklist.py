"""Signals: block list of entities and accounts from confirmed scams, with allow-list overrides.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-22 16:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "listed_entities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_key", sa.String(length=300), nullable=False),
        sa.Column("list_name", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("sender_id", sa.String(length=200), nullable=True),
        sa.Column("submission_id", sa.String(length=32), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("listed_entities", schema=None) as batch_op:
        batch_op.create_index("ix_listed_entities_key_list", ["entity_key", "list_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_listed_entities_decision_id"), ["decision_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("listed_entities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listed_entities_decision_id"))
        batch_op.drop_index("ix_listed_entities_key_list")
    op.drop_table("listed_entities")
