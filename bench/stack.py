"""A real Vigie stack for load and fault tests: Redis (AOF), a database, gunicorn, N RQ workers.

Used by bench/load.py and bench/chaos.py. Every process runs in its own session so it can be
killed alone (SIGKILL a worker, restart Redis) and the whole stack is stopped on exit. The
database is a fresh SQLite file, or a throw-away schema on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from moderation.db import create_schema, drop_schema, schema_url

BIN = Path(sys.executable).parent
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_base_url() -> str | None:
    """VIGIE_LOAD_POSTGRES_URL, else the local server when one answers, else None."""
    url = os.environ.get("VIGIE_LOAD_POSTGRES_URL") or LOCAL_POSTGRES
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return None
    return url


@dataclass
class Stack:
    """Configuration and handles of one running stack (see `start`)."""

    data_dir: Path
    database: str  # "sqlite" or "postgresql"
    web_workers: int = 2
    web_threads: int = 1
    rq_workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    # PostgreSQL application_name of the stack's connections (chaos terminates exactly those).
    application_name: str = ""
    api_port: int = 0
    redis_port: int = 0
    database_url: str = ""
    key: str = ""
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _pg_schema: str = ""

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Stack:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        self.redis_port, self.api_port = free_port(), free_port()
        self.database_url = self._make_database()
        self.env = {
            **os.environ,
            "VIGIE_DATA_DIR": str(self.data_dir),
            "VIGIE_DATABASE_URL": self.database_url,
            "VIGIE_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "VIGIE_RATE_LIMIT_PER_MINUTE": "0",
            "VIGIE_LOG_LEVEL": "WARNING",
            "VIGIE_DISPATCH": "batched",
            **self.extra_env,
        }
        self.start_redis()
        self._run(["vigie", "db", "migrate"])
        created = self._run(["vigie", "keys", "create", "--name", "load", "--scopes", "submit,read,admin"])
        self.key = created.strip().splitlines()[-1]
        api_env = {
            # gthread workers keep the model warm per process and overlap DB waits between threads.
            # No access log (`vigie serve`'s default): even to /dev/null it costs ~10% of API CPU.
            "GUNICORN_CMD_ARGS": f"--threads {self.web_threads} --timeout 60",
        }
        self._spawn(
            "api",
            ["vigie", "serve", "--port", str(self.api_port), "--workers", str(self.web_workers)],
            api_env,
        )
        for i in range(self.rq_workers):
            self.start_worker(i)
        self.wait_ready(90)
        return self

    def stop(self) -> None:
        for name in list(self.procs):
            self._stop(name)
        if self._pg_schema:
            drop_schema(self._pg_base, self._pg_schema)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- processes ---------------------------------------------------------------------------
    def start_redis(self) -> None:
        redis_dir = self.data_dir / "redis"
        redis_dir.mkdir(exist_ok=True)
        self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(redis_dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ],
            absolute=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def start_worker(self, i: int) -> None:
        self._spawn(f"worker{i}", ["vigie", "worker"])

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to a process group (SIGKILL: no cleanup, as a crash or OOM kill)."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait()

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    time.sleep(1.0)  # let every gunicorn worker warm its Scorer
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"stack did not become ready; logs in {self.data_dir / 'logs'}")

    # --- HTTP --------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=60)
        try:
            headers = {"Authorization": f"Bearer {self.key}"}
            payload = None
            if body is not None:
                payload = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    # --- internals ---------------------------------------------------------------------------
    def _make_database(self) -> str:
        if self.database == "sqlite":
            return f"sqlite:///{(self.data_dir / 'vigie.sqlite3').resolve()}"
        base = postgres_base_url()
        if base is None:
            raise RuntimeError("no PostgreSQL (set VIGIE_LOAD_POSTGRES_URL)")
        self._pg_base = base
        self._pg_schema = create_schema(base, "vigie_load")
        extra = {"application_name": self.application_name} if self.application_name else {}
        return schema_url(base, self._pg_schema, **extra)

    @property
    def base_database_url(self) -> str:
        """The PostgreSQL server URL without the stack's schema (for administration)."""
        return self._pg_base

    def _run(self, argv: list[str]) -> str:
        return subprocess.run(
            [str(BIN / argv[0]), *argv[1:]], env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def _spawn(
        self, name: str, argv: list[str], extra_env: dict[str, str] | None = None, absolute: bool = False
    ) -> None:
        out = (self.data_dir / "logs" / f"{name}.log").open("ab")
        cmd = argv if absolute else [str(BIN / argv[0]), *argv[1:]]
        env = {**self.env, **(extra_env or {})}
        self.procs[name] = subprocess.Popen(cmd, env=env, stdout=out, stderr=out, start_new_session=True)

    def _stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    _pg_base: str = ""
