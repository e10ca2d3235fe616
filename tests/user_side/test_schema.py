"""Migration 0003 and the user-side models describe the same tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from moderation import review_models, user_models
from moderation.models import Base

USER_SIDE_TABLES = {"safety_warnings", "warning_events", "user_reports", "reporter_reputations"}


def test_migrated_schema_matches_models(engine: Engine) -> None:
    assert review_models and user_models  # both register their tables on Base
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert USER_SIDE_TABLES <= set(inspect(engine).get_table_names())
