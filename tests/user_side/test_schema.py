"""Migration 0003 and the user-side models describe the same tables."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, Index, Table, inspect

from moderation import user_models
from moderation.models import Base

USER_SIDE_TABLES = {"safety_warnings", "warning_events", "user_reports", "reporter_reputations"}


def _table_of(change: Any) -> str | None:
    # compare_metadata yields tuples, or lists of tuples for column modifications.
    if isinstance(change, list):
        return _table_of(change[0])
    for part in change[1:]:
        if isinstance(part, Table):
            return part.name
        if isinstance(part, Index) and part.table is not None:
            return part.table.name
    return change[2] if len(change) > 2 and isinstance(change[2], str) else None


def test_migrated_user_side_tables_match_the_models(engine: Engine) -> None:
    assert user_models.SafetyWarning.__table__.metadata is Base.metadata
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert [change for change in diff if _table_of(change) in USER_SIDE_TABLES] == []
    assert set(inspect(engine).get_table_names()) >= USER_SIDE_TABLES
