"""Worker throughput: `score_submission` jobs/s with RQ's forking Worker vs SimpleWorker, and the
batched `score_submissions` job, on a private redis-server and a temporary SQLite database (or a
throw-away schema of the PostgreSQL at `--database-url`).

    .venv/bin/python bench/bench_worker.py [--jobs 400] [--batch 50] [--modes fork,simple,batched]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--plot var/bench/worker.png]

Each mode: N messages of the shared synthetic traffic (bench/traffic.py, with sender and recipient,
so warn/review/hold verdicts write warnings and review items as in production) are stored as
`queued`, their jobs enqueued in bulk, then one worker drains the queue in burst mode; the time from
the first dequeue to the last commit is reported, with the worker process's CPU time per submission
(the figure to trust on a loaded machine; it leaves out the database server's CPU on PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rq import SimpleWorker, Worker
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import free_port
from traffic import message

from moderation.db import migrate, scratch_schema
from moderation.models import Assessment
from moderation.settings import Settings
from moderation.submissions import SubmissionContent, submit
from scoring.types import Kind
from workers.context import build_context, load_scorer, set_context
from workers.queues import enqueue_score_batch, enqueue_scores, make_redis
from workers.worker import make_worker

MODES = ("fork", "simple", "batched")


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server not found")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--save", "", "--appendonly", "no", "--port", str(port), "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = make_redis(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except Exception:
            time.sleep(0.05)
    return proc, url


@contextmanager
def fresh_database(mode: str, workdir: Path, base_url: str | None) -> Iterator[str]:
    """A migrated, empty database for one mode: a SQLite file, or a throw-away PostgreSQL schema."""
    if base_url is None:
        url = f"sqlite:///{workdir / (mode + '.sqlite3')}"
        migrate(url)
        yield url
        return
    with scratch_schema(base_url, "vigie_bench") as url:
        yield url


def content(i: int, mode: str) -> SubmissionContent:
    body = message(i, f"bench-{mode}", with_parties=True)
    return SubmissionContent(
        kind=Kind.MESSAGE,
        external_id=body["external_id"],
        text=body["text"],
        conversation_id=body["conversation_id"],
        sender=body["sender"],
        recipient=body["recipient"],
        lang=body["lang"],
    )


def run_mode(
    mode: str, n_jobs: int, batch: int, redis_url: str, workdir: Path, db_url: str, scorer: object
) -> tuple[float, float]:
    """(submissions per second, worker CPU ms per submission) for one mode."""
    settings = Settings(data_dir=workdir, database_url=db_url, redis_url=redis_url, log_level="WARNING")
    ctx = build_context(settings, scorer)  # type: ignore[arg-type]
    ctx.redis.flushdb()
    set_context(ctx)
    items = []
    with ctx.session_factory() as session:
        for i in range(n_jobs):
            out = submit(session, content(i, mode), actor="bench")
            items.append((out.submission_id, out.revision))
        session.commit()
    if mode == "batched":
        for start in range(0, len(items), batch):
            enqueue_score_batch(ctx.score_queue, items[start : start + batch])
    else:
        enqueue_scores(ctx.score_queue, items)
    worker_class = Worker if mode == "fork" else SimpleWorker
    worker = make_worker(ctx, worker_class)
    cpu_started = cpu_seconds()
    started = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_started
    with ctx.session_factory() as session:
        done = session.scalar(select(func.count()).select_from(Assessment))
    if done != n_jobs:
        sys.exit(f"{mode}: {done} assessments for {n_jobs} jobs")
    set_context(None)
    ctx.engine.dispose()
    return n_jobs / elapsed, cpu * 1000 / n_jobs


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the forking Worker's work horses): on a
    shared, loaded machine it moves far less than wall time. The database server's CPU is not in it."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument(
        "--modes", default=",".join(MODES), help="comma-separated subset of " + ",".join(MODES)
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL URL to run on (a throw-away schema); default SQLite"
    )
    parser.add_argument(
        "--plot",
        type=lambda v: Path(v) if v else None,
        default=Path("var/bench/worker.png"),
        help="bar chart PNG ('' for none)",
    )
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes: {sorted(unknown)}")
    scorer = load_scorer(Settings())
    with tempfile.TemporaryDirectory(prefix="vigie-bench-") as tmp:
        workdir = Path(tmp)
        proc, redis_url = start_redis(workdir)
        try:
            rates = {}
            for mode in modes:
                with fresh_database(mode, workdir, args.database_url) as db_url:
                    rates[mode] = run_mode(mode, args.jobs, args.batch, redis_url, workdir, db_url, scorer)
        finally:
            proc.terminate()
            proc.wait()
    labels = {
        "fork": "Worker (fork per job)",
        "simple": "SimpleWorker",
        "batched": f"SimpleWorker, {args.batch}/job",
    }
    database = make_url(args.database_url).get_backend_name() if args.database_url else "sqlite"
    print(f"score_submission throughput, {args.jobs} messages, {database}, one worker process")
    print(f"{'mode':<28}{'jobs/s':>10}{'ms/job':>10}{'CPU ms/job':>12}")
    for mode, (rate, cpu_ms) in rates.items():
        print(f"{labels[mode]:<28}{rate:>10.1f}{1000 / rate:>10.2f}{cpu_ms:>12.2f}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.barh([labels[m] for m in rates], [rate for rate, _ in rates.values()])
        ax.set_xlabel("submissions scored per second")
        fig.tight_layout()
        fig.savefig(args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
