"""The Alembic migrations and the SQLAlchemy models describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from moderation.db import check_database, migrate
from moderation.models import Base


def test_migrated_schema_matches_models(db_url: str, engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert {
        "submissions",
        "submission_revisions",
        "assessments",
        "api_keys",
        "audit_events",
        "webhook_events",
    } <= (tables)


def test_migrate_is_repeatable(db_url: str, engine: Engine) -> None:
    migrate(db_url)  # already at head: a no-op, not an error
    check_database(engine)
