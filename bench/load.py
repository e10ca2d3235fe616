"""`make load`: sustained load on the running stack, measured from a second process over loopback.

For each database (SQLite always; PostgreSQL when VIGIE_LOAD_POSTGRES_URL is set or a local
server answers) it starts a real stack (bench/stack.py: Redis with AOF, gunicorn, N RQ workers
with batched dispatch), then `--clients` threads POST /v1/messages for `--duration` seconds
(keep-alive connections, optionally paced to `--rate` per second). After the window it waits
(bounded) for the last verdict and reports:

  sustained submissions/s   202 answers per second of the window
  end-to-end/s              verdicts recorded per second, first submission to last verdict
  API latency p50/p99       client-side, POST to response
  submit-to-verdict p50/p99 assessment.created_at - submission.created_at, from the database

    python bench/load.py [--duration 60] [--clients 16] [--rate 0] [--rq-workers 2] [--db sqlite,postgresql]

Writes var/load/load.json (and a latency histogram PNG when matplotlib is present).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import Stack, postgres_base_url
from traffic import message

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Client(threading.Thread):
    """One keep-alive HTTP client posting messages until `stop_at` (paced when `interval_s` > 0)."""

    def __init__(self, stack: Stack, tag: str, counter: Any, stop_at: float, interval_s: float) -> None:
        super().__init__(daemon=True)
        self.stack, self.tag, self.counter, self.stop_at, self.interval_s = (
            stack,
            tag,
            counter,
            stop_at,
            interval_s,
        )
        self.latencies_ms: list[float] = []
        self.accepted: list[str] = []
        self.statuses: dict[str, int] = {}

    def run(self) -> None:
        conn: http.client.HTTPConnection | None = None
        next_at = time.monotonic()
        headers = {"Authorization": f"Bearer {self.stack.key}", "Content-Type": "application/json"}
        while time.monotonic() < self.stop_at:
            if self.interval_s:
                next_at += self.interval_s
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            i = next(self.counter)
            body = message(i, self.tag, with_parties=True)
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.stack.api_port, timeout=60)
                conn.request("POST", "/v1/messages", body=json.dumps(body), headers=headers)
                response = conn.getresponse()
                response.read()
                status = str(response.status)
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                if conn is not None:
                    conn.close()
                conn = None
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == "202":
                self.accepted.append(body["external_id"])
        if conn is not None:
            conn.close()


def drive(stack: Stack, tag: str, duration_s: float, clients: int, rate: float) -> dict[str, Any]:
    """Submit for `duration_s` from `clients` threads; returns counts, statuses and API latencies."""
    counter = iter(range(10**9))
    lock = threading.Lock()

    def safe_next() -> int:
        with lock:
            return next(counter)

    class Counter:
        def __next__(self) -> int:
            return safe_next()

    interval = clients / rate if rate > 0 else 0.0
    started = time.monotonic()
    threads = [Client(stack, tag, Counter(), started + duration_s, interval) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    window = time.monotonic() - started
    latencies = [x for t in threads for x in t.latencies_ms]
    statuses: dict[str, int] = {}
    for t in threads:
        for k, v in t.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    accepted = [x for t in threads for x in t.accepted]
    return {
        "window_s": round(window, 2),
        "accepted": len(accepted),
        "accepted_ids": accepted,
        "statuses": statuses,
        "submissions_per_s": round(len(accepted) / window, 1),
        "api_p50_ms": round(percentile(latencies, 50), 2),
        "api_p99_ms": round(percentile(latencies, 99), 2),
    }


def verdict_latencies(database_url: str, tag: str) -> tuple[list[float], float]:
    """(submit-to-verdict seconds of every assessed `tag` submission, first-submit-to-last-verdict span)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.created_at, a.created_at FROM submissions s "
                    "JOIN assessments a ON a.submission_id = s.id WHERE s.external_id LIKE :p"
                ),
                {"p": f"{tag}-%"},
            ).all()
    finally:
        engine.dispose()
    from datetime import datetime

    def as_dt(v: Any) -> datetime:
        return v if isinstance(v, datetime) else datetime.fromisoformat(str(v))

    pairs = [(as_dt(s), as_dt(a)) for s, a in rows]
    lat = [(a.replace(tzinfo=None) - s.replace(tzinfo=None)).total_seconds() for s, a in pairs]
    if not pairs:
        return [], 0.0
    span = (max(a for _, a in pairs) - min(s for s, _ in pairs)).total_seconds()
    return lat, span


def count_assessed(database_url: str, tag: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM assessments a JOIN submissions s ON s.id = a.submission_id "
                        "WHERE s.external_id LIKE :p"
                    ),
                    {"p": f"{tag}-%"},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def wait_for_verdicts(database_url: str, tag: str, expected: int, limit_s: float) -> int:
    deadline = time.monotonic() + limit_s
    done = count_assessed(database_url, tag)
    while done < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        done = count_assessed(database_url, tag)
    return done


def run_one(args: argparse.Namespace, database: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"vigie-load-{database}-") as tmp:
        stack = Stack(
            Path(tmp),
            database,
            web_workers=args.web_workers,
            web_threads=args.web_threads,
            rq_workers=args.rq_workers,
            extra_env={"VIGIE_DISPATCH": args.dispatch, "VIGIE_DISPATCH_BATCH_SIZE": str(args.batch_size)},
        )
        with stack:
            tag = f"load{int(time.time())}"
            result = drive(stack, tag, args.duration, args.clients, args.rate)
            accepted = result.pop("accepted_ids")
            assessed = wait_for_verdicts(stack.database_url, tag, len(accepted), args.drain)
            lat, span = verdict_latencies(stack.database_url, tag)
    result.update(
        database=database,
        assessed=assessed,
        end_to_end_per_s=round(assessed / span, 1) if span else 0.0,
        verdict_p50_ms=round(percentile(lat, 50) * 1000, 1),
        verdict_p99_ms=round(percentile(lat, 99) * 1000, 1),
        verdict_latencies_s=lat,
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sustained submission")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=0.0, help="offered requests/s (0: as fast as possible)")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument("--dispatch", choices=["batched", "per_request"], default="batched")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--drain", type=float, default=120.0, help="max seconds to wait for the last verdict")
    parser.add_argument("--db", default="sqlite,postgresql", help="comma list: sqlite, postgresql")
    parser.add_argument("--output", type=Path, default=ROOT / "var" / "load" / "load.json")
    args = parser.parse_args()

    results = []
    for database in [d.strip() for d in args.db.split(",") if d.strip()]:
        if database == "postgresql" and postgres_base_url() is None:
            print("postgresql: no server (set VIGIE_LOAD_POSTGRES_URL); skipped")
            continue
        print(
            f"== {database}: {args.duration:.0f} s, {args.clients} clients, {args.rq_workers} RQ workers, "
            f"{args.web_workers}x{args.web_threads} gunicorn, dispatch={args.dispatch}",
            flush=True,
        )
        results.append(run_one(args, database))
    print_table(results)
    env = {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "args": {k: str(v) for k, v in vars(args).items()},
                "environment": env,
                "results": [{k: v for k, v in r.items() if k != "verdict_latencies_s"} for r in results],
            },
            indent=2,
        )
    )
    plot(results, args.output.with_suffix(".png"))
    print(f"\nwritten: {args.output}")
    return 0


def print_table(results: list[dict[str, Any]]) -> None:
    head = (
        f"{'database':10} {'accepted':>8} {'assessed':>8} {'subm/s':>8} {'e2e/s':>8} {'api p50':>8} "
        f"{'api p99':>8} {'verd p50':>9} {'verd p99':>9}  statuses"
    )
    print("\n" + head)
    for r in results:
        print(
            f"{r['database']:10} {r['accepted']:>8} {r['assessed']:>8} {r['submissions_per_s']:>8} "
            f"{r['end_to_end_per_s']:>8} {r['api_p50_ms']:>8} {r['api_p99_ms']:>8} "
            f"{r['verdict_p50_ms']:>9} {r['verdict_p99_ms']:>9}  {r['statuses']}"
        )
    print("(latencies in ms; verd = submit-to-verdict from the database clocks)")


def plot(results: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in results:
        if r["verdict_latencies_s"]:
            ax.hist([x * 1000 for x in r["verdict_latencies_s"]], bins=60, alpha=0.6, label=r["database"])
    ax.set_xlabel("submit-to-verdict latency (ms)")
    ax.set_ylabel("submissions")
    ax.set_title("Vigie load: submit-to-verdict latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
