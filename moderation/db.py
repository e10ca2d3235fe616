"""Engines, sessions and migrations. Nothing here runs at import time."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from moderation.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Writers wait this long for SQLite's single write lock instead of failing at once.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(settings_or_url: Settings | str, **engine_kwargs: Any) -> Engine:
    """Create an Engine for a URL (or `settings.effective_database_url`).

    SQLite connections get WAL (readers do not block the writer), a busy timeout and foreign keys;
    the file's directory is created. PostgreSQL gets `pool_pre_ping` so a restarted server does
    not surface as an error on the first request after it.
    """
    url_str = (
        settings_or_url.effective_database_url if isinstance(settings_or_url, Settings) else settings_or_url
    )
    url = make_url(url_str)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **engine_kwargs)
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    engine_kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **engine_kwargs)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers (API reads, the sweeper, signals) never block the one writer nor wait for it,
        # and a commit appends to the log instead of rewriting pages through a rollback journal.
        cursor.execute("PRAGMA journal_mode=WAL")
        # API processes and workers share one write lock: wait for it (commits are short, batched)
        # rather than fail with "database is locked".
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # In WAL mode NORMAL syncs at checkpoints, not at every commit (FULL fsyncs each commit: the
        # dominant cost of small transactions). A killed process loses nothing: committed
        # transactions are in the WAL file, which the OS holds. Only an OS crash or power loss can
        # lose the last transactions since the previous sync, never corrupt the file. Production
        # runs PostgreSQL (README, deployment notes); SQLite serves single-host setups.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory bound to `engine`. Objects stay readable after commit (no expiry)."""
    return sessionmaker(engine, expire_on_commit=False)


def migrate(url: str) -> None:
    """Bring the database at `url` to the latest schema (`alembic upgrade head`).

    Uses the same engine configuration as the application, so URL options (for example a
    PostgreSQL `search_path`) apply to migrations too. Safe to run repeatedly.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def alembic_config() -> Config:
    """An alembic.ini-free configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def check_database(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query (used by /readyz)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1")).scalar_one()


# --- throw-away PostgreSQL schemas (tests, benchmarks, load and chaos stacks) -----------------------


def _admin(server_url: str, statement: str) -> None:
    """Run one DDL statement on a short-lived engine of its own (no pool left behind)."""
    admin = create_engine(server_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


def create_schema(server_url: str, prefix: str) -> str:
    """Create an empty schema with a random name starting with `prefix` on `server_url`; returns its name."""
    schema = f"{prefix}_{secrets.token_hex(6)}"
    _admin(server_url, f'CREATE SCHEMA "{schema}"')
    return schema


def drop_schema(server_url: str, schema: str) -> None:
    """Drop `schema` and everything in it (no error when it is already gone)."""
    _admin(server_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def schema_url(server_url: str, schema: str, **query: str) -> str:
    """`server_url` with every connection's search_path set to `schema` (libpq `options`), so the app
    and its migrations both work inside it."""
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}", **query})
    return url.render_as_string(hide_password=False)


@contextmanager
def scratch_schema(server_url: str, prefix: str) -> Iterator[str]:
    """A migrated, empty throw-away schema: yields its database URL, drops the schema afterwards."""
    schema = create_schema(server_url, prefix)
    try:
        url = schema_url(server_url, schema)
        migrate(url)
        yield url
    finally:
        drop_schema(server_url, schema)
