"""Shared fixtures: a real redis-server per test session, SQLite (and PostgreSQL when
VIGIE_TEST_POSTGRES_URL is set) migrated per test, and Settings pointing at both.

No test depends on a service already running on this machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from moderation.db import make_engine, make_session_factory, migrate, scratch_schema
from moderation.settings import Settings

POSTGRES_ENV = "VIGIE_TEST_POSTGRES_URL"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a private, non-persistent redis-server started for this test session."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is required (scripts/ensure_redis.sh installs it)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--save",
            "",
            "--appendonly",
            "no",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis, emptied before each test."""
    client = Redis.from_url(redis_server)
    client.flushdb()
    client.close()
    return redis_server


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def _database_params() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]


@pytest.fixture(params=_database_params())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database: a SQLite file, or a throw-away PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vigie-test.sqlite3'}"
        migrate(url)
        yield url
        return
    with scratch_schema(os.environ[POSTGRES_ENV], "vigie_test") as url:
        yield url


@pytest.fixture
def settings(db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own database and data dir, the session's Redis."""
    return Settings(
        data_dir=tmp_path,
        database_url=db_url,
        redis_url=redis_url,
        sweeper_stale_after_s=30.0,
        sweeper_interval_s=0.2,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture(scope="session")
def scorer():  # type: ignore[no-untyped-def]
    """The shipped scorer, loaded once per test session (loading takes about half a second)."""
    from scoring.engine import Scorer

    return Scorer.load()
