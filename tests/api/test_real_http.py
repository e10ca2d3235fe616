"""The API over real HTTP: `vigie serve` (gunicorn, 2 workers) on a free loopback port."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from moderation.db import migrate
from moderation.keys import create_key
from moderation.settings import Settings
from tests.api.conftest import message_body
from tests.conftest import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only here: these tests are about processes and HTTP, and each starts gunicorn (seconds);
    both databases are exercised by every Flask-client test in this directory."""
    url = f"sqlite:///{tmp_path / 'vigie-http.sqlite3'}"
    migrate(url)
    return url


def vigie_command() -> list[str]:
    script = Path(sys.executable).parent / "vigie"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from api.cli import main; main()"]


def call(
    method: str, url: str, key: str | None = None, body: Any = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def stack_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "VIGIE_DATABASE_URL": settings.database_url,
        "VIGIE_REDIS_URL": settings.redis_url,
        "VIGIE_DATA_DIR": str(settings.data_dir),
    }


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    port = free_port()
    env = stack_env(settings)
    log = (settings.data_dir / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [*vigie_command(), "serve", "--port", str(port), "--workers", "2"], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if call("GET", base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError((settings.data_dir / "gunicorn.log").read_text())
            time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_submit_read_and_metrics_over_http(server: str, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        _, key = create_key(session, "http-test", {"submit", "read"})
        session.commit()

    statuses = []
    for i in range(6):
        status, headers, raw = call("POST", server + "/v1/messages", key, message_body(f"http-{i}"))
        statuses.append(status)
    assert statuses == [202] * 6
    status, _, raw = call("POST", server + "/v1/messages", key, message_body("http-0"))
    assert status == 202  # replay

    location = headers["Location"]
    status, _, raw = call("GET", server + location, key)
    assert status == 200
    assert json.loads(raw)["external_id"] == "http-5"

    status, headers, raw = call("POST", server + "/v1/messages", None, message_body())
    assert status == 401
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["WWW-Authenticate"].startswith("Bearer")

    assert call("GET", server + "/readyz")[0] == 200
    # /metrics aggregates both gunicorn workers (multiprocess mode): the totals are exact.
    status, _, raw = call("GET", server + "/metrics")
    assert status == 200
    text = raw.decode()
    created = re.search(r'vigie_submissions_total\{kind="message",outcome="created"\} (\S+)', text)
    replayed = re.search(r'vigie_submissions_total\{kind="message",outcome="replayed"\} (\S+)', text)
    assert created is not None and float(created.group(1)) == 6
    assert replayed is not None and float(replayed.group(1)) == 1


def test_demo_load_posts_fixture_lines_through_the_api(
    server: str, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        _, key = create_key(session, "demo", {"submit"})
        session.commit()
    demo_dir = settings.data_dir / "demo"
    demo_dir.mkdir()
    lines = [
        {"external_id": "d-1", "kind": "message", "conversation_id": "c", "text": "Bonjour", "label": "ok"},
        {"external_id": "d-2", "kind": "listing", "text": "Table", "recipient": {"id": "u", "locale": "fr"}},
    ]
    (demo_dir / "a.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    runner = CliRunner()
    args = ["demo", "load", "--url", server, "--key", key, "--dir", str(demo_dir)]
    first = runner.invoke(main, args)
    again = runner.invoke(main, args)

    assert first.exit_code == 0, first.output
    assert "202: 2" in first.output
    assert "202: 2" in again.output  # replays of unscored submissions: same answer


def test_submitted_over_http_then_scored_by_a_worker(
    server: str, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        _, key = create_key(session, "e2e", {"submit", "read"})
        session.commit()
    scam = message_body(
        "e2e-1", "Payez par Transcash, envoyez les codes des recharges sur WhatsApp +33 6 12 34 56 78"
    )
    status, headers, _ = call("POST", server + "/v1/messages", key, scam)
    assert status == 202

    # The real worker entry point, in burst mode: it drains the queue and exits.
    worker = subprocess.run(
        [*vigie_command(), "worker", "--burst"], env=stack_env(settings), capture_output=True, timeout=120
    )
    assert worker.returncode == 0, worker.stderr.decode()[-2000:]
    assert b"Transcash" not in worker.stderr + worker.stdout  # message text never logged

    status, _, raw = call("GET", server + headers["Location"], key)
    view = json.loads(raw)
    assert view["status"] == "scored"
    assert view["assessment"]["verdict"] in {"review", "hold"}
    # A replay now answers 200 with the same verdict.
    status, _, raw = call("POST", server + "/v1/messages", key, scam)
    assert status == 200
    assert json.loads(raw)["assessment"] == view["assessment"]
