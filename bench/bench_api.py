"""API and pipeline benchmark: a real stack, measured from a second process over loopback.

Starts a private redis-server, migrates a SQLite database in a temporary data dir, runs
`vigie serve` (gunicorn) and one `vigie worker`, then measures:
  1. async submit latency (POST /v1/messages -> 202), sequential, p50/p99;
  2. sync submit latency (POST /v1/messages?mode=sync -> 200 with a verdict), p50/p99;
  3. sustained end-to-end throughput: concurrent clients submit for a fixed time, then the
     clock stops when the last submission has its assessment in the database.
Each is measured for both ways submissions reach the worker (VIGIE_DISPATCH=per_request: one
RQ job per submission; batched: a dispatcher enqueues multi-item jobs), unless --dispatch says.
Prints tables and writes var/bench/bench_api.json and a latency CDF plot (bench_api.png).
Every phase is bounded in time.

    python bench/bench_api.py [--async-n 300] [--sync-n 150] [--duration 10] [--clients 4] [--dispatch both]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import Stack
from traffic import message

ROOT = Path(__file__).resolve().parents[1]


def post(port: int, path: str, key: str, body: dict[str, Any]) -> int:
    # gunicorn's sync workers close the connection after each response: one connection per request.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@contextmanager
def stack(data_dir: Path, web_workers: int, dispatch: str) -> Iterator[tuple[int, str, Path]]:
    """A running stack (bench/stack.py: private Redis with AOF, SQLite, `vigie serve`, one `vigie worker`):
    yields (API port, admin key, SQLite path); stops every process at exit."""
    with Stack(
        data_dir, "sqlite", web_workers=web_workers, rq_workers=1, extra_env={"VIGIE_DISPATCH": dispatch}
    ) as running:
        yield running.api_port, running.key, data_dir / "vigie.sqlite3"


def measure_latency(port: int, key: str, n: int, path: str, tag: str, limit_s: float) -> dict[str, Any]:
    latencies, statuses = [], {}
    stop_at = time.monotonic() + limit_s
    for i in range(n):
        if time.monotonic() > stop_at:
            break
        started = time.perf_counter()
        status = post(port, path, key, message(i, tag))
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "samples_ms": [round(x, 3) for x in latencies],
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "mean_ms": round(statistics.fmean(latencies), 2),
        "statuses": statuses,
    }


def count_assessed(db_path: Path, prefix: str) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as conn:
        row = conn.execute(
            "SELECT count(*) FROM assessments a JOIN submissions s ON s.id = a.submission_id "
            "WHERE s.external_id LIKE ?",
            (prefix + "-%",),
        ).fetchone()
    return int(row[0])


def measure_throughput(port: int, key: str, db_path: Path, duration_s: float, clients: int) -> dict[str, Any]:
    tag = "e2e"
    counter = iter(range(10**9))
    lock = threading.Lock()
    accepted = [0]
    stop_at = time.monotonic() + duration_s

    def client() -> None:
        while time.monotonic() < stop_at:
            with lock:
                i = next(counter)
            if post(port, "/v1/messages", key, message(i, tag)) == 202:
                with lock:
                    accepted[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    submit_elapsed = time.monotonic() - started
    # Drain: bounded wait for the worker to finish the backlog.
    drain_deadline = time.monotonic() + max(60.0, 6 * duration_s)
    done = count_assessed(db_path, tag)
    while done < accepted[0] and time.monotonic() < drain_deadline:
        time.sleep(0.25)
        done = count_assessed(db_path, tag)
    elapsed = time.monotonic() - started
    return {
        "clients": clients,
        "submitted": accepted[0],
        "assessed": done,
        "submit_rate_per_s": round(accepted[0] / submit_elapsed, 1),
        "end_to_end_per_s": round(done / elapsed, 1),
        "elapsed_s": round(elapsed, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--async-n", type=int, default=300)
    parser.add_argument("--sync-n", type=int, default=150)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sustained submission")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument(
        "--dispatch",
        choices=["per_request", "batched", "both"],
        default="both",
        help="how submissions reach the worker (VIGIE_DISPATCH); `both` runs the stack twice",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "var" / "bench" / "bench_api.json")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server not found (scripts/ensure_redis.sh installs it)", file=sys.stderr)
        return 1

    modes = ["per_request", "batched"] if args.dispatch == "both" else [args.dispatch]
    results: dict[str, Any] = {"runs": {}}
    for mode in modes:
        with (
            tempfile.TemporaryDirectory(prefix="vigie-bench-") as tmp,
            stack(Path(tmp), args.web_workers, mode) as (port, key, db_path),
        ):
            results["runs"][mode] = {
                "async_submit": measure_latency(port, key, args.async_n, "/v1/messages", "async", 60),
                "sync_submit": measure_latency(port, key, args.sync_n, "/v1/messages?mode=sync", "sync", 60),
                "pipeline": measure_throughput(port, key, db_path, args.duration, args.clients),
            }
    results["environment"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "web_workers": args.web_workers,
        "database": "sqlite (WAL)",
        "worker": "1 x vigie worker",
        "load_average_at_end": os.getloadavg(),
    }
    print_table(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    plot = write_plot(results["runs"], args.output.with_suffix(".png"))
    for run in results["runs"].values():
        for name in ("async_submit", "sync_submit"):
            run[name].pop("samples_ms")
    args.output.write_text(json.dumps(results, indent=2))
    print(f"\nwritten: {args.output}" + (f" and {plot}" if plot else ""))
    return 0


def write_plot(runs: dict[str, Any], path: Path) -> Path | None:
    """Latency CDFs of async and sync submissions per dispatch mode (PNG); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for mode, results in runs.items():
        for name, label in (("async_submit", "POST (202)"), ("sync_submit", "?mode=sync (200)")):
            samples = sorted(results[name]["samples_ms"])
            if samples:
                ys = [(i + 1) / len(samples) for i in range(len(samples))]
                ax.plot(samples, ys, label=f"{label}, dispatch={mode}")
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of requests")
    ax.set_title("Vigie submit latency over loopback (gunicorn + SQLite + Redis)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_table(results: dict[str, Any]) -> None:
    print(f"\n{'dispatch':12} {'measure':14} {'n':>6} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for mode, run in results["runs"].items():
        for name in ("async_submit", "sync_submit"):
            r = run[name]
            print(f"{mode:12} {name:14} {r['n']:>6} {r['p50_ms']:>8} {r['p99_ms']:>8}  {r['statuses']}")
    header = ("dispatch", "clients", "submitted", "submit/s", "assessed", "end-to-end/s")
    print("\n{:12} {:>7} {:>9} {:>9} {:>8} {:>13}".format(*header))
    for mode, run in results["runs"].items():
        p = run["pipeline"]
        print(
            f"{mode:12} {p['clients']:>7} {p['submitted']:>9} {p['submit_rate_per_s']:>9} "
            f"{p['assessed']:>8} {p['end_to_end_per_s']:>13}"
        )


if __name__ == "__main__":
    sys.exit(main())
