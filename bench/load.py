"""`make load`: sustained load on a real stack, measured from separate processes over loopback.

For each database (SQLite always; PostgreSQL when VIGIE_LOAD_POSTGRES_URL is set or a local
server answers) and each mode it starts a real stack (bench/stack.py: Redis with AOF, gunicorn,
N RQ workers with batched dispatch), then `--clients` keep-alive connections spread over
`--client-procs` processes submit for `--duration` seconds, paced to `--rate` submissions
(messages) per second in both modes — 500/s by default, the sustained rate the service promises on
this 2-core machine; `--rate 0` submits as fast as possible, which measures the API's ceiling but
lets a backlog grow, so its submit-to-verdict latency is not a sustained figure:

  single   one message per request, POST /v1/messages
  batch    `--batch-size` messages per request, POST /v1/messages/batch

After the window it waits (bounded) for the last verdict and reports:

  sustained submissions/s   accepted items (202 single, 201 batch item) per second of the window
  end-to-end/s              verdicts recorded per second, first submission to last verdict
  API latency p50/p99       client-side, request to response (a batch request is one request)
  submit-to-verdict p50/p99 assessment.created_at - submission.created_at per item, from the database

    python bench/load.py [--duration 60] [--mode single,batch] [--batch-size 50] [--clients 16]
                         [--client-procs 2] [--rate 500] [--rq-workers 2] [--db sqlite,postgresql]

Writes var/load/load.json (and a latency histogram PNG when matplotlib is present).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
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
    """One keep-alive HTTP client posting until `stop_at` (paced when `interval_s` > 0).

    `batch` = 0 posts one message per request to /v1/messages; `batch` = n posts {"items": [n messages]}
    to /v1/messages/batch. Message indices are `first`, `first + stride`, ... so clients never collide.
    """

    def __init__(
        self, api_port: int, key: str, tag: str, first: int, stride: int, stop_at: float, interval_s: float,
        batch: int,
    ) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.api_port, self.key, self.tag = api_port, key, tag
        self.next_index, self.stride = first, stride
        self.stop_at, self.interval_s, self.batch = stop_at, interval_s, batch
        self.latencies_ms: list[float] = []
        self.accepted = 0
        self.statuses: dict[str, int] = {}
        self.conn: http.client.HTTPConnection | None = None

    def _body(self) -> bytes:
        count = max(1, self.batch)
        items = []
        for _ in range(count):
            items.append(message(self.next_index, self.tag, with_parties=True))
            self.next_index += self.stride
        return json.dumps({"items": items} if self.batch else items[0]).encode()

    def run(self) -> None:
        next_at = time.monotonic()
        path = "/v1/messages/batch" if self.batch else "/v1/messages"
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        while time.monotonic() < self.stop_at:
            if self.interval_s:
                next_at += self.interval_s
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            body = self._body()
            started = time.perf_counter()
            status, payload = self._post(path, body, headers)
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            if self.batch and status == "200":
                for item in json.loads(payload)["items"]:
                    item_status = str(item["status"])
                    self.statuses[item_status] = self.statuses.get(item_status, 0) + 1
                    self.accepted += item_status == "201"
            else:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.accepted += status == "202"
        if self.conn is not None:
            self.conn.close()

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[str, bytes]:
        """POST on the keep-alive connection: (status or exception name, body). A kept-alive connection
        the server closed while idle (gunicorn's keep-alive timeout, paced clients) is reopened and the
        request sent again once; that is safe because submissions are idempotent on external_id."""
        for attempt in (1, 2):
            reused = self.conn is not None
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=60)
                self.conn.request("POST", path, body=body, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return str(response.status), payload
            except (OSError, http.client.HTTPException) as exc:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if not (reused and attempt == 1):
                    return type(exc).__name__, b""
        return "unreachable", b""


def _client_process(
    api_port: int, key: str, tag: str, proc: int, procs: int, threads: int, stop_at_wall: float,
    interval_s: float, batch: int, out: Any,
) -> None:  # fmt: skip
    """One load-generator process: `threads` clients; sends its totals back on `out`."""
    stop_at = time.monotonic() + (stop_at_wall - time.time())
    clients = [
        Client(api_port, key, tag, proc * threads + t, procs * threads, stop_at, interval_s, batch)
        for t in range(threads)
    ]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    statuses: dict[str, int] = {}
    for c in clients:
        for k, v in c.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    out.put(
        {
            "latencies_ms": [x for c in clients for x in c.latencies_ms],
            "accepted": sum(c.accepted for c in clients),
            "statuses": statuses,
        }
    )


def drive(
    stack: Stack, tag: str, duration_s: float, clients: int, rate: float, procs: int, batch: int
) -> dict[str, Any]:
    """Submit for `duration_s` from `clients` keep-alive connections spread over `procs` processes (a
    single Python process cannot generate this load without competing for its GIL); returns counts,
    statuses and API latencies (per request: a batch request is one latency)."""
    procs = max(1, min(procs, clients))
    per_proc = clients // procs
    # `rate` counts submissions; a batch request carries `batch` of them.
    requests_per_s = rate / batch if batch else rate
    interval = clients / requests_per_s if rate > 0 else 0.0
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    stop_at_wall = time.time() + duration_s
    started = time.monotonic()
    workers = [
        ctx.Process(
            target=_client_process,
            args=(stack.api_port, stack.key, tag, p, procs, per_proc, stop_at_wall, interval, batch, out),
        )
        for p in range(procs)
    ]
    for w in workers:
        w.start()
    parts = [out.get() for _ in workers]
    for w in workers:
        w.join()
    window = time.monotonic() - started
    latencies = [x for part in parts for x in part["latencies_ms"]]
    statuses: dict[str, int] = {}
    for part in parts:
        for k, v in part["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    accepted = sum(part["accepted"] for part in parts)
    return {
        "window_s": round(window, 2),
        "requests": len(latencies),
        "accepted": accepted,
        "statuses": statuses,
        "submissions_per_s": round(accepted / window, 1),
        "api_p50_ms": round(percentile(latencies, 50), 2),
        "api_p99_ms": round(percentile(latencies, 99), 2),
    }


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            # Fields after the parenthesised command name: utime and stime are the 12th and 13th.
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def stack_cpu_s(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of the API (gunicorn and its workers) and of all RQ workers together."""
    api = tree_cpu_s(stack.procs["api"].pid)
    workers = sum(tree_cpu_s(p.pid) for name, p in stack.procs.items() if name.startswith("worker"))
    return {"api": api, "workers": workers}


def wait_until_idle(stack: Stack, limit_s: float = 60.0) -> None:
    """Wait until the stack stops burning CPU on its own (each gunicorn worker warms its Scorer after
    boot), so that start-up work is not counted as the cost of the first submissions."""
    deadline = time.monotonic() + limit_s
    before = stack_cpu_s(stack)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        after = stack_cpu_s(stack)
        if after["api"] - before["api"] < 0.05:
            return
        before = after


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


def run_one(args: argparse.Namespace, database: str, mode: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"vigie-load-{database}-") as tmp:
        stack = Stack(
            Path(tmp),
            database,
            web_workers=args.web_workers,
            web_threads=args.web_threads,
            rq_workers=args.rq_workers,
            extra_env={
                "VIGIE_DISPATCH": args.dispatch,
                "VIGIE_DISPATCH_BATCH_SIZE": str(args.dispatch_batch_size),
                "VIGIE_DISPATCH_INTERVAL_S": str(args.dispatch_interval),
                "VIGIE_BATCH_MAX_ITEMS": str(max(100, args.batch_size)),
            },
        )
        with stack:
            tag = f"load{int(time.time())}"
            batch = args.batch_size if mode == "batch" else 0
            wait_until_idle(stack)
            cpu_before = stack_cpu_s(stack)
            result = drive(stack, tag, args.duration, args.clients, args.rate, args.client_procs, batch)
            cpu_window = stack_cpu_s(stack)
            assessed = wait_for_verdicts(stack.database_url, tag, result["accepted"], args.drain)
            cpu_after = stack_cpu_s(stack)
            load_avg = os.getloadavg()[0]
            lat, span = verdict_latencies(stack.database_url, tag)
    result.update(
        database=database,
        mode=mode if mode == "single" else f"batch {args.batch_size}",
        assessed=assessed,
        end_to_end_per_s=round(assessed / span, 1) if span else 0.0,
        # CPU per accepted item: the API's during the window, the workers' until the last verdict.
        api_cpu_ms_per_item=round(
            1000 * (cpu_window["api"] - cpu_before["api"]) / max(1, result["accepted"]), 2
        ),
        worker_cpu_ms_per_item=round(
            1000 * (cpu_after["workers"] - cpu_before["workers"]) / max(1, assessed), 2
        ),
        load_avg_1m_after=round(load_avg, 1),
        verdict_p50_ms=round(percentile(lat, 50) * 1000, 1),
        verdict_p99_ms=round(percentile(lat, 99) * 1000, 1),
        verdict_latencies_s=lat,
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sustained submission")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--rate",
        type=float,
        default=500.0,
        help="offered submissions/s in either mode (0: as fast as possible)",
    )
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument("--dispatch", choices=["batched", "per_request"], default="batched")
    parser.add_argument("--dispatch-batch-size", type=int, default=200, help="revisions per worker job")
    parser.add_argument("--dispatch-interval", type=float, default=0.05, help="dispatcher poll interval (s)")
    parser.add_argument(
        "--mode",
        default="single,batch",
        help="comma list: single (POST /v1/messages), batch (POST /v1/messages/batch)",
    )
    parser.add_argument("--batch-size", type=int, default=50, help="messages per request in batch mode")
    parser.add_argument("--client-procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--drain", type=float, default=120.0, help="max seconds to wait for the last verdict")
    parser.add_argument("--db", default="sqlite,postgresql", help="comma list: sqlite, postgresql")
    parser.add_argument("--output", type=Path, default=ROOT / "var" / "load" / "load.json")
    args = parser.parse_args()

    results = []
    for database in [d.strip() for d in args.db.split(",") if d.strip()]:
        if database == "postgresql" and postgres_base_url() is None:
            print("postgresql: no server (set VIGIE_LOAD_POSTGRES_URL); skipped")
            continue
        for mode in [m.strip() for m in args.mode.split(",") if m.strip()]:
            print(
                f"== {database}, {mode}: {args.duration:.0f} s, {args.clients} clients in "
                f"{args.client_procs} processes, {args.rq_workers} RQ workers, "
                f"{args.web_workers}x{args.web_threads} gunicorn, "
                f"dispatch={args.dispatch}, load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            results.append(run_one(args, database, mode))
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
        f"{'database':10} {'mode':9} {'accepted':>8} {'assessed':>8} {'subm/s':>8} {'e2e/s':>8} "
        f"{'api p50':>8} {'api p99':>8} {'verd p50':>9} {'verd p99':>9} {'api cpu':>8} {'wrk cpu':>8} "
        f"{'load':>5}  statuses"
    )
    print("\n" + head)
    for r in results:
        print(
            f"{r['database']:10} {r['mode']:9} {r['accepted']:>8} {r['assessed']:>8} "
            f"{r['submissions_per_s']:>8} {r['end_to_end_per_s']:>8} {r['api_p50_ms']:>8} "
            f"{r['api_p99_ms']:>8} "
            f"{r['verdict_p50_ms']:>9} {r['verdict_p99_ms']:>9} {r['api_cpu_ms_per_item']:>8} "
            f"{r['worker_cpu_ms_per_item']:>8} {r['load_avg_1m_after']:>5}  {r['statuses']}"
        )
    print(
        "(latencies in ms; api = per request (a batch request is one); verd = submit-to-verdict per item, "
        "from the database clocks; cpu = CPU ms per accepted item; load = 1-minute load average at the end)"
    )


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
            label = f"{r['database']}, {r['mode']}"
            ax.hist([x * 1000 for x in r["verdict_latencies_s"]], bins=60, alpha=0.6, label=label)
    ax.set_xlabel("submit-to-verdict latency (ms)")
    ax.set_ylabel("submissions")
    ax.set_title("Vigie load: submit-to-verdict latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
