"""Engines, sessions and migrations. Nothing here runs at import time."""

from __future__ import annotations

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
