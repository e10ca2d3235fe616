"""`make chaos`: faults injected while load runs; afterwards nothing accepted is lost or doubled.

A real stack (bench/stack.py, batched dispatch, short recovery windows) receives at least
`--target` submissions from concurrent clients while a fault schedule runs:

  - SIGKILL a random RQ worker (and start a fresh one) every `--kill-every` seconds;
  - SIGKILL Redis and restart it on the same AOF files;
  - make the database unavailable for a few seconds: SQLite, an exclusive lock held by another
    process; PostgreSQL, every backend of the stack terminated (`pg_terminate_backend`);
  - the webhook receiver answers 500 for a while, then stops listening (connection refused).

The receiver (a local HTTP server) verifies each `Vigie-Signature` and dedupes by
`Vigie-Event-Id`. At the end the database and the receiver are checked:

  accepted=N assessed=N lost=0 duplicated=0
  webhooks: events=E delivered_once=E undelivered=0 redeliveries=R (deduped by the receiver)

and the exit status is non-zero unless every accepted submission has exactly one assessment and
every webhook event reached the receiver.

    python bench/chaos.py [--target 10000] [--db sqlite|postgresql] [--clients 12] [--rq-workers 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import secrets
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from load import message
from stack import Stack, free_port

from moderation.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, verify

# --- the webhook receiver -------------------------------------------------------------------------


class Receiver:
    """A platform's webhook endpoint: verifies signatures, dedupes by event id, can fail on demand."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.port = free_port()
        self.mode = "ok"  # "ok" | "error" (answers 500)
        self.seen: set[str] = set()
        self.deliveries = 0
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.mode == "error":
                    self.send_response(500)
                    self.end_headers()
                    return
                if not verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body, time.time()):
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.deliveries += 1
                    receiver.seen.add(self.headers.get(EVENT_ID_HEADER, ""))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop listening: deliveries get 'connection refused' until `start` again."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# --- load -----------------------------------------------------------------------------------------


class Load:
    """Client threads submitting until `target` submissions are accepted (or `limit_s` passes)."""

    def __init__(self, stack: Stack, tag: str, target: int, clients: int, limit_s: float) -> None:
        self.stack, self.tag, self.target, self.limit_s = stack, tag, target, limit_s
        self.accepted: list[str] = []
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()
        self.counter = 0
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def run(self) -> None:
        self.deadline = time.monotonic() + self.limit_s
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join()

    @property
    def done(self) -> bool:
        return len(self.accepted) >= self.target or time.monotonic() > self.deadline

    def _client(self) -> None:
        headers = {"Authorization": f"Bearer {self.stack.key}", "Content-Type": "application/json"}
        conn: http.client.HTTPConnection | None = None
        while not self.done:
            with self.lock:
                i = self.counter
                self.counter += 1
            body = message(i, self.tag)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.stack.api_port, timeout=60)
                conn.request("POST", "/v1/messages", body=json.dumps(body), headers=headers)
                response = conn.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
            with self.lock:
                if status == "202":
                    self.accepted.append(body["external_id"])
                else:
                    self.errors[status] = self.errors.get(status, 0) + 1
        if conn is not None:
            conn.close()


# --- faults ---------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def kill_a_worker(stack: Stack, rng: random.Random) -> None:
    name = rng.choice([n for n in stack.procs if n.startswith("worker")])
    stack.kill(name, signal.SIGKILL)
    log(f"SIGKILL {name}; starting a fresh one")
    stack.start_worker(int(name.removeprefix("worker")))


def restart_redis(stack: Stack) -> None:
    stack.kill("redis", signal.SIGKILL)
    log("SIGKILL redis")
    time.sleep(2)
    stack.start_redis()
    log("redis restarted from its AOF")


def database_outage(stack: Stack, seconds: float) -> None:
    if stack.database == "sqlite":
        path = make_url(stack.database_url).database
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        log(f"sqlite: exclusive lock held for {seconds:.0f} s")
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()
        log("sqlite: lock released")
        return
    app = make_url(stack.database_url).query.get("application_name")
    engine = create_engine(stack.base_database_url)
    deadline = time.monotonic() + seconds
    killed = 0
    with engine.connect() as conn:
        # Keep terminating for the whole window: reconnections fail over and over, like an outage.
        while time.monotonic() < deadline:
            killed += conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :a"
                ),
                {"a": app},
            ).scalar_one()
            conn.commit()
            time.sleep(0.2)
    engine.dispose()
    log(f"postgresql: terminated {killed} backends over {seconds:.0f} s")


def webhook_outage(receiver: Receiver, seconds: float) -> None:
    receiver.mode = "error"
    log(f"webhook receiver answers 500 for {seconds / 2:.0f} s")
    time.sleep(seconds / 2)
    receiver.mode = "ok"
    receiver.stop()
    log(f"webhook receiver refuses connections for {seconds / 2:.0f} s")
    time.sleep(seconds / 2)
    receiver.start()
    log("webhook receiver back")


def fault_schedule(stack: Stack, receiver: Receiver, load: Load, kill_every: float, seed: int) -> None:
    rng = random.Random(seed)
    plan = [
        (10.0, lambda: restart_redis(stack)),
        (20.0, lambda: database_outage(stack, 4.0)),
        (30.0, lambda: webhook_outage(receiver, 12.0)),
        (45.0, lambda: restart_redis(stack)),
        (55.0, lambda: database_outage(stack, 4.0)),
    ]
    started = time.monotonic()
    next_kill = started + kill_every / 2
    while not load.done:
        now = time.monotonic()
        if plan and now - started >= plan[0][0]:
            plan.pop(0)[1]()
        elif now >= next_kill:
            kill_a_worker(stack, rng)
            next_kill = time.monotonic() + kill_every
        time.sleep(0.2)


# --- verification ---------------------------------------------------------------------------------


def check(stack: Stack, tag: str, accepted: list[str], receiver: Receiver, limit_s: float) -> dict[str, int]:
    engine = create_engine(stack.database_url)
    wanted = set(accepted)
    deadline = time.monotonic() + limit_s
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.external_id, count(a.id) FROM submissions s "
                    "LEFT JOIN assessments a ON a.submission_id = s.id AND a.revision = s.current_revision "
                    "WHERE s.external_id LIKE :p GROUP BY s.external_id"
                ),
                {"p": f"{tag}-%"},
            ).all()
            events = dict(conn.execute(text("SELECT id, status FROM webhook_events")).all())
        counts = {ext: int(n) for ext, n in rows}
        assessed = sum(1 for ext in wanted if counts.get(ext, 0) >= 1)
        undelivered = [eid for eid in events if eid not in receiver.seen]
        if (assessed == len(wanted) and not undelivered) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    engine.dispose()
    return {
        "accepted": len(wanted),
        "assessed": assessed,
        "lost": len(wanted) - assessed,
        "duplicated": sum(1 for ext in wanted if counts.get(ext, 0) > 1),
        "stored_not_acknowledged": len(set(counts) - wanted),
        "stored_unscored": sum(1 for n in counts.values() if n == 0),
        "events": len(events),
        "delivered_once": len(set(events) & receiver.seen),
        "undelivered": len(undelivered),
        "failed_events": sum(1 for s in events.values() if s == "failed"),
        "redeliveries": receiver.deliveries - len(receiver.seen),
        "bad_signatures": receiver.bad_signatures,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=int, default=10_000, help="accepted submissions to reach")
    parser.add_argument("--limit", type=float, default=420.0, help="max seconds of load")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=8.0)
    parser.add_argument("--recovery-limit", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    secret = secrets.token_hex(16)
    receiver = Receiver(secret)
    receiver.start()
    app_name = f"vigie_chaos_{secrets.token_hex(4)}"
    recovery_env = {
        # Short recovery windows so a run completes in minutes (production keeps the defaults).
        "VIGIE_JOB_TIMEOUT_S": "30",
        "VIGIE_SWEEPER_STALE_AFTER_S": "5",
        "VIGIE_SWEEPER_INTERVAL_S": "1",
        "VIGIE_SCORE_MAX_ATTEMPTS": "1000",
        "VIGIE_WEBHOOK_URL": f"http://127.0.0.1:{receiver.port}/vigie",
        "VIGIE_WEBHOOK_SECRET": secret,
        "VIGIE_WEBHOOK_BACKOFF_BASE_S": "0.5",
        "VIGIE_WEBHOOK_MAX_ATTEMPTS": "30",
        "VIGIE_WEBHOOK_TIMEOUT_S": "2",
    }
    with tempfile.TemporaryDirectory(prefix="vigie-chaos-") as tmp:
        stack = Stack(
            Path(tmp),
            args.db,
            rq_workers=args.rq_workers,
            web_threads=4,
            extra_env=recovery_env,
            application_name=app_name,
        )
        with stack:
            tag = f"chaos{int(time.time())}"
            load = Load(stack, tag, args.target, args.clients, args.limit)
            log(f"{args.db}: load until {args.target} accepted, faults running")
            started = time.monotonic()
            load.run()
            fault_schedule(stack, receiver, load, args.kill_every, args.seed)
            load.join()
            log(
                f"load done: {len(load.accepted)} accepted in {time.monotonic() - started:.0f} s; "
                f"refused/errors: {load.errors}"
            )
            if receiver.server is None:
                receiver.start()
            receiver.mode = "ok"
            result = check(stack, tag, load.accepted, receiver, args.recovery_limit)
            log(f"recovered in {time.monotonic() - started:.0f} s since the start")
    receiver.stop()
    print(
        f"accepted={result['accepted']} assessed={result['assessed']} lost={result['lost']} "
        f"duplicated={result['duplicated']}"
    )
    print(
        f"webhooks: events={result['events']} delivered_once={result['delivered_once']} "
        f"undelivered={result['undelivered']} failed={result['failed_events']} "
        f"redeliveries={result['redeliveries']} (deduped by the receiver) "
        f"bad_signatures={result['bad_signatures']}"
    )
    print(
        f"stored but never acknowledged to a client: {result['stored_not_acknowledged']}; "
        f"stored and still unscored: {result['stored_unscored']}"
    )
    ok = (
        result["accepted"] >= args.target
        and result["lost"] == 0
        and result["duplicated"] == 0
        and result["undelivered"] == 0
        and result["bad_signatures"] == 0
    )
    if result["accepted"] < args.target:
        print(f"FAILED: only {result['accepted']} accepted (target {args.target})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
