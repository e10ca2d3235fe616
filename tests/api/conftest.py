"""API fixtures: an app built on the test's Settings (real Redis, SQLite/PostgreSQL), its test
client, and keys with chosen scopes created through the domain service."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from moderation.keys import create_key
from moderation.settings import Settings
from tests.conftest import free_port

KeyMaker = Callable[..., str]


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    """The shared test settings; override fields with `dataclasses.replace` in a test when needed.

    Keys are checked against the database on every request here (no in-process cache), so a test
    that revokes a key sees the 401 at once; tests/api/test_auth_cache.py covers the cache.
    """
    return dataclasses.replace(settings, auth_cache_ttl_s=0.0)


@pytest.fixture
def make_app(api_settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Build apps on the test settings (keyword overrides go to Settings); closed after the test."""
    apps: list[Flask] = []

    def build(scorer_loader: Callable[[], Any] | None = None, **overrides: Any) -> Flask:
        app = create_app(dataclasses.replace(api_settings, **overrides), scorer_loader=scorer_loader)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["vigie"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_key(app: Flask) -> KeyMaker:
    """Create a key holding `scopes` in the app's database; returns the plaintext."""

    def make(*scopes: str, name: str = "test-service") -> str:
        with app.extensions["vigie"].session_factory() as session:
            _, plaintext = create_key(session, name, set(scopes))
            session.commit()
        return plaintext

    return make


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def submitter(make_key: KeyMaker) -> dict[str, str]:
    """Headers of a platform service allowed to submit and read."""
    return bearer(make_key("submit", "read"))


def message_body(
    external_id: str = "msg-1", text: str = "Bonjour, l'annonce est toujours dispo ?"
) -> dict[str, Any]:
    return {"external_id": external_id, "conversation_id": "conv-1", "text": text, "lang": "fr"}


@pytest.fixture
def unused_redis_url() -> str:
    """A Redis URL nobody listens on: connections are refused at once (Redis is "down")."""
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def hung_redis_url() -> Iterator[str]:
    """A Redis URL whose server accepts connections and never answers (a hung or blackholed Redis)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the kernel completes handshakes into the backlog; nobody ever reads
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()
