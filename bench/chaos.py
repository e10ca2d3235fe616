"""`make chaos`: faults injected while load runs; afterwards nothing accepted is lost or doubled.

A real stack (bench/stack.py, batched dispatch, short recovery windows) receives at least
`--target` submissions from concurrent clients paced to `--rate` per second, so the load spans a
window of target/rate seconds (80 s by default) however fast the API is, and a fault plan laid out
over that window runs inside it:

  - SIGKILL a random RQ worker (and start a fresh one) every `--kill-every` seconds;
  - SIGKILL Redis and restart it on the same AOF files `--redis-down` (8) seconds later, twice (at
    15% and 60% of the window);
  - make the database unavailable for a few seconds, twice (30% and 75%): SQLite, an exclusive
    lock held by another process; PostgreSQL, every backend of the stack terminated
    (`pg_terminate_backend`) over and over;
  - the webhook receiver answers 500 for a while, then stops listening (connection refused) (40%).

The load goes on past the target until the whole plan has run, so no fault falls after the load.
Like a process supervisor, a watcher restarts any worker process that exits on its own; exits are
reported apart from the kills (a worker is expected to survive Redis restarts itself), and so are
the RQ loops workers rebuilt in process after a Redis failure.

The receiver (a local HTTP server) verifies each `Vigie-Signature` and dedupes by
`Vigie-Event-Id`. At the end the database and the receiver are checked:

  accepted=N assessed=N lost=0 duplicated=0
  webhooks: events=E delivered_once=E undelivered=0 redeliveries=R (deduped by the receiver)
  faults: worker_kills=K worker_exits=X redis_restarts=2 db_outages=2 receiver_outages=1

and the exit status is non-zero unless every accepted submission has exactly one assessment,
every webhook event reached the receiver and the fault plan ran inside the load.

    python bench/chaos.py [--target 10000] [--rate 125] [--db sqlite|postgresql] [--clients 12]
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
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stack import Stack, free_port
from traffic import message

from moderation.assessments import ASSESSMENT_CREATED
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
    """Client threads submitting at `rate` per second in all, until `target` submissions are accepted
    and `until` is set (the fault plan is over), or `limit_s` passes."""

    def __init__(
        self, stack: Stack, tag: str, target: int, clients: int, rate: float, limit_s: float
    ) -> None:
        self.stack, self.tag, self.target, self.rate, self.limit_s = stack, tag, target, rate, limit_s
        self.accepted: list[str] = []
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()
        self.counter = 0
        self.until = threading.Event()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def run(self) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + self.limit_s
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join()
        self.ended = time.monotonic()

    @property
    def done(self) -> bool:
        return (len(self.accepted) >= self.target and self.until.is_set()) or time.monotonic() > self.deadline

    def _next(self) -> int:
        """Take the next message index and wait for its slot: index i goes at start + i / rate."""
        with self.lock:
            i = self.counter
            self.counter += 1
        delay = self.started + i / self.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return i

    def _client(self) -> None:
        headers = {"Authorization": f"Bearer {self.stack.key}", "Content-Type": "application/json"}
        conn: http.client.HTTPConnection | None = None
        while not self.done:
            body = message(self._next(), self.tag, with_parties=True)
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


class Faults:
    """What was done to the stack, and when (seconds since the load started)."""

    def __init__(self) -> None:
        self.counts = {
            "worker_kills": 0,
            "worker_exits": 0,
            "api_exits": 0,
            "redis_restarts": 0,
            "db_outages": 0,
            "receiver_outages": 0,
        }
        self.exit_codes: list[int] = []
        # (start, end, kind) in seconds since the load started.
        self.timeline: list[tuple[float, float, str]] = []
        self.lock = threading.Lock()

    def record(self, kind: str, at: float, until: float | None = None) -> None:
        with self.lock:
            self.counts[kind] += 1
            self.timeline.append((at, at if until is None else until, kind))

    def run(self, kind: str, fault: Callable[[], None], started: float) -> None:
        """Inflict `fault` and record when it began and ended."""
        at = time.monotonic() - started
        fault()
        self.record(kind, at, time.monotonic() - started)


class Supervisor:
    """Restarts any worker process that exited on its own, as systemd or Kubernetes would (and
    reports an API that exited).

    `procs_lock` is held around every change chaos makes to `stack.procs` (a kill and its restart),
    so a process the fault plan killed is never mistaken for one that exited.
    """

    def __init__(self, stack: Stack, faults: Faults, started: float) -> None:
        self.stack, self.faults, self.started = stack, faults, started
        self.procs_lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()

    def _watch(self) -> None:
        while not self.stop.wait(0.5):
            with self.procs_lock:
                for name, proc in list(self.stack.procs.items()):
                    code = proc.poll()
                    if code is None or name == "redis":
                        continue
                    self.stack.procs.pop(name)
                    at = time.monotonic() - self.started
                    if name.startswith("worker"):
                        self.faults.record("worker_exits", at)
                        self.faults.exit_codes.append(code)
                        log(f"{name} exited by itself (status {code}); restarting it; its last log lines:")
                        self._print_log_tail(name)
                        self.stack.start_worker(int(name.removeprefix("worker")))
                    else:
                        # Not expected (gunicorn restarts its own workers); reported, and the load
                        # falls short of its target.
                        self.faults.record("api_exits", at)
                        log(f"{name} exited by itself (status {code})")

    def _print_log_tail(self, name: str, lines: int = 12) -> None:
        # The stack's logs die with its temporary directory: show why it exited now.
        path = self.stack.data_dir / "logs" / f"{name}.log"
        for line in path.read_text(errors="replace").splitlines()[-lines:]:
            print(f"    {line}", flush=True)


def kill_a_worker(stack: Stack, supervisor: Supervisor, rng: random.Random) -> None:
    with supervisor.procs_lock:
        name = rng.choice([n for n in stack.procs if n.startswith("worker")])
        stack.kill(name, signal.SIGKILL)
        log(f"SIGKILL {name}; starting a fresh one")
        stack.start_worker(int(name.removeprefix("worker")))


def restart_redis(stack: Stack, down_s: float) -> None:
    stack.kill("redis", signal.SIGKILL)
    log(f"SIGKILL redis; restarting it in {down_s:.0f} s")
    # Longer than redis-py's own retries (3, backing off up to a few seconds): RQ's bookkeeping
    # then fails for real, as when Redis takes a while to restart and reload its AOF.
    time.sleep(down_s)
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


def fault_schedule(
    stack: Stack,
    receiver: Receiver,
    load: Load,
    supervisor: Supervisor,
    faults: Faults,
    window_s: float,
    kill_every: float,
    redis_down_s: float,
    seed: int,
) -> None:
    """Start each planned fault at its fraction of `window_s` (in its own thread: a 12 s receiver
    outage must not push the others back) and kill a worker every `kill_every` seconds of the
    window; once every fault is over and the window has passed, let the load finish (`load.until`)."""
    rng = random.Random(seed)
    plan: list[tuple[float, str, Callable[[], None]]] = [
        (0.15, "redis_restarts", lambda: restart_redis(stack, redis_down_s)),
        (0.30, "db_outages", lambda: database_outage(stack, 4.0)),
        (0.40, "receiver_outages", lambda: webhook_outage(receiver, 12.0)),
        (0.60, "redis_restarts", lambda: restart_redis(stack, redis_down_s)),
        (0.75, "db_outages", lambda: database_outage(stack, 4.0)),
    ]
    started = load.started
    running: list[threading.Thread] = []
    next_kill = started + kill_every / 2
    while not load.done:
        now = time.monotonic()
        while plan and now - started >= plan[0][0] * window_s:
            _, kind, run = plan.pop(0)
            thread = threading.Thread(target=faults.run, args=(kind, run, started), daemon=True)
            thread.start()
            running.append(thread)
        if now >= next_kill and now - started < window_s:
            faults.run("worker_kills", lambda: kill_a_worker(stack, supervisor, rng), started)
            next_kill += kill_every
        if not plan and now - started >= window_s and not any(t.is_alive() for t in running):
            load.until.set()
        time.sleep(0.2)
    for thread in running:
        thread.join()


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
            # Exactly one verdict event per submission: a second event row would carry a new event
            # id, which the platform's dedupe cannot catch.
            event_rows = conn.execute(
                text(
                    "SELECT s.external_id, count(e.id) FROM submissions s "
                    "LEFT JOIN webhook_events e ON e.subject_id = s.id AND e.event_type = :t "
                    "WHERE s.external_id LIKE :p GROUP BY s.external_id"
                ),
                {"p": f"{tag}-%", "t": ASSESSMENT_CREATED},
            ).all()
        counts = {ext: int(n) for ext, n in rows}
        verdict_events = {ext: int(n) for ext, n in event_rows}
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
        "verdict_events_missing": sum(1 for ext in wanted if verdict_events.get(ext, 0) == 0),
        "verdict_events_duplicated": sum(1 for ext in wanted if verdict_events.get(ext, 0) > 1),
        "delivered_once": len(set(events) & receiver.seen),
        "undelivered": len(undelivered),
        "failed_events": sum(1 for s in events.values() if s == "failed"),
        "redeliveries": receiver.deliveries - len(receiver.seen),
        "bad_signatures": receiver.bad_signatures,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=int, default=10_000, help="accepted submissions to reach")
    parser.add_argument(
        "--rate", type=float, default=125.0, help="submissions per second offered (paces the load window)"
    )
    parser.add_argument("--limit", type=float, default=600.0, help="max seconds of load")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=8.0)
    parser.add_argument("--redis-down", type=float, default=8.0, help="seconds Redis stays down per restart")
    parser.add_argument("--recovery-limit", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    window_s = args.target / args.rate

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
    faults = Faults()
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
            load = Load(stack, tag, args.target, args.clients, args.rate, args.limit)
            log(
                f"{args.db}: load of {args.target} at {args.rate:.0f}/s (a {window_s:.0f} s window), "
                f"faults over that window"
            )
            load.run()
            supervisor = Supervisor(stack, faults, load.started)
            supervisor.start()
            fault_schedule(
                stack,
                receiver,
                load,
                supervisor,
                faults,
                window_s,
                args.kill_every,
                args.redis_down,
                args.seed,
            )
            load.join()
            load_s = load.ended - load.started
            log(f"load done: {len(load.accepted)} accepted in {load_s:.0f} s; refused/errors: {load.errors}")
            if receiver.server is None:
                receiver.start()
            receiver.mode = "ok"
            # The supervisor keeps watching while the backlog drains: exits count there too.
            result = check(stack, tag, load.accepted, receiver, args.recovery_limit)
            supervisor.close()
            total_s = time.monotonic() - load.started
            # Workers that lost Redis and rebuilt their RQ loop in process (workers/worker.py).
            rebuilt = sum(
                path.read_text(errors="replace").count("quit without a stop request")
                for path in (Path(tmp) / "logs").glob("worker*.log")
            )
            log(f"recovered in {total_s:.0f} s since the load started")
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
        f"verdict events per submission: missing={result['verdict_events_missing']} "
        f"duplicated={result['verdict_events_duplicated']}"
    )
    print(
        f"stored but never acknowledged to a client: {result['stored_not_acknowledged']}; "
        f"stored and still unscored: {result['stored_unscored']}"
    )
    print(
        "faults: "
        + " ".join(f"{k}={v}" for k, v in faults.counts.items())
        + f" (in-process RQ loop rebuilds after Redis failures: {rebuilt})"
    )
    # Exits are the stack's doing, not the plan's: they may come after the load.
    timeline = sorted(f for f in faults.timeline if not f[2].endswith("_exits"))
    inside = [kind for _, end, kind in timeline if end <= load_s]
    print(
        f"load {load_s:.0f} s, faults over by its end {len(inside)}/{len(timeline)}: "
        + ", ".join(
            f"{kind.removesuffix('s')}@{at:.0f}" + (f"-{end:.0f}s" if end - at >= 1 else "s")
            for at, end, kind in timeline
        )
    )
    if faults.exit_codes:
        print(f"worker exit statuses (restarted): {sorted(faults.exit_codes)}")
    print(f"wall time: load {load_s:.0f} s, load + recovery {total_s:.0f} s")
    planned_inside = (
        all(
            faults.counts[k] >= n
            for k, n in (("redis_restarts", 2), ("db_outages", 2), ("receiver_outages", 1))
        )
        and faults.counts["worker_kills"] >= 3
    )
    ok = (
        result["accepted"] >= args.target
        and result["lost"] == 0
        and result["duplicated"] == 0
        and result["undelivered"] == 0
        and result["bad_signatures"] == 0
        and result["verdict_events_missing"] == 0
        and result["verdict_events_duplicated"] == 0
        and planned_inside
        and len(inside) == len(timeline)
        and faults.counts["api_exits"] == 0
    )
    if result["accepted"] < args.target:
        print(f"FAILED: only {result['accepted']} accepted (target {args.target})")
    if not planned_inside or len(inside) < len(timeline):
        print("FAILED: the fault plan did not run inside the load")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
