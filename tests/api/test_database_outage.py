"""A database that cannot be reached or stays locked answers 503 problem+json with Retry-After (not
500), and a request that got a 503 left nothing stored: its retry is a fresh 202."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from moderation.keys import create_key
from moderation.models import Submission
from moderation.settings import Settings
from tests.api.conftest import bearer, message_body
from tests.conftest import free_port


def assert_503(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert body["status"] == 503 and body["type"] == "/problems/database-unavailable"


def stored(app: Flask, external_id: str) -> int:
    with app.extensions["vigie"].session_factory() as session:
        return session.scalar(select(func.count()).where(Submission.external_id == external_id)) or 0


def make_key(app: Flask) -> str:
    with app.extensions["vigie"].session_factory() as session:
        _, key = create_key(session, "outage", {"submit", "read"})
        session.commit()
    return key


def test_an_unreachable_server_is_a_503(make_app: Callable[..., Flask]) -> None:
    # Nothing listens on this port: every connection attempt is refused at once.
    app = make_app(database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/vigie")
    client = app.test_client()
    key = "vg_0123abcd_" + "A" * 43  # well formed: authenticating it needs the database
    assert_503(client.post("/v1/messages", json=message_body(), headers=bearer(key)))
    assert_503(client.get("/v1/messages/0123456789abcdef0123456789abcdef", headers=bearer(key)))


def test_sqlite_locked_beyond_the_busy_timeout_is_a_503_and_stores_nothing(
    make_app: Callable[..., Flask], api_settings: Settings
) -> None:
    url = make_url(api_settings.effective_database_url)
    if url.get_backend_name() != "sqlite":
        pytest.skip("SQLite's single-writer lock")
    app = make_app(auth_cache_ttl_s=30.0)
    key = make_key(app)
    engine = app.extensions["vigie"].engine
    # Listeners run in order: this one shortens the 30 s production busy timeout for the test.
    event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=200"))
    engine.dispose()
    client = app.test_client()
    assert client.get("/v1/messages/0123456789abcdef0123456789abcdef", headers=bearer(key)).status_code == 404

    holder = sqlite3.connect(str(url.database), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process's long write transaction
    try:
        assert_503(client.post("/v1/messages", json=message_body("locked-1"), headers=bearer(key)))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert stored(app, "locked-1") == 0
    retry = client.post("/v1/messages", json=message_body("locked-1"), headers=bearer(key))
    assert retry.status_code == 202
    assert retry.get_json()["revision"] == 1 and stored(app, "locked-1") == 1


class TcpRelay:
    """A loopback TCP relay to a real server that can be cut (connections reset, new ones refused)
    and restored: a database outage without touching the shared server."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            # A listener closed while accept() blocks on it keeps listening: shut it down first.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._conns:
                # shutdown, not only close: it sends the FIN at once and wakes the pump blocked in recv.
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relay(api_settings: Settings) -> Iterator[TcpRelay]:
    url = make_url(api_settings.effective_database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("a PostgreSQL server reached over TCP")
    proxy = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    yield proxy
    proxy.cut()


def test_postgresql_going_away_is_a_503_then_service_resumes(
    make_app: Callable[..., Flask], api_settings: Settings, relay: TcpRelay
) -> None:
    url = make_url(api_settings.effective_database_url).set(host="127.0.0.1", port=relay.port)
    app = make_app(database_url=url.render_as_string(hide_password=False), auth_cache_ttl_s=30.0)
    key = make_key(app)
    client = app.test_client()
    assert client.post("/v1/messages", json=message_body("pg-1"), headers=bearer(key)).status_code == 202

    relay.cut()  # pooled connections reset, reconnections refused
    assert_503(client.post("/v1/messages", json=message_body("pg-2"), headers=bearer(key)))

    relay.start()
    retry = client.post("/v1/messages", json=message_body("pg-2"), headers=bearer(key))
    assert retry.status_code == 202 and retry.get_json()["revision"] == 1
    assert stored(app, "pg-2") == 1
