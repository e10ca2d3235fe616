"""Worker throughput: `score_submission` jobs/s with RQ's forking Worker vs SimpleWorker, and the
batched `score_submissions` job, on a private redis-server and a temporary SQLite database.

    .venv/bin/python bench/bench_worker.py [--jobs 400] [--batch 50] [--plot var/bench/worker.png]

Each mode: N messages are stored as `queued`, their jobs enqueued in bulk, then one worker drains
the queue in burst mode; the time from the first dequeue to the last commit is reported.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rq import SimpleWorker, Worker
from sqlalchemy import func, select

from moderation.db import migrate
from moderation.models import Assessment
from moderation.settings import Settings
from moderation.submissions import SubmissionContent, submit
from scoring.types import Kind
from workers.context import build_context, load_scorer, set_context
from workers.queues import enqueue_score_batch, enqueue_scores, make_redis
from workers.worker import make_worker

# Written for this benchmark (no third-party text): a scam script and an honest message.
TEXTS = [
    "Bonjour, je suis intéressé par votre annonce. Je paie par PayPal entre amis, donnez-moi votre e-mail "
    "ou contactez-moi sur WhatsApp au 06 12 34 56 78, mon transporteur récupère le colis demain.",
    "Bonjour, le vélo est-il toujours disponible ? Je peux passer samedi matin et payer sur place, merci.",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def run_mode(mode: str, n_jobs: int, batch: int, redis_url: str, workdir: Path, scorer: object) -> float:
    db = workdir / f"{mode}.sqlite3"
    url = f"sqlite:///{db}"
    migrate(url)
    settings = Settings(data_dir=workdir, database_url=url, redis_url=redis_url, log_level="WARNING")
    ctx = build_context(settings, scorer)  # type: ignore[arg-type]
    ctx.redis.flushdb()
    set_context(ctx)
    items = []
    with ctx.session_factory() as session:
        for i in range(n_jobs):
            content = SubmissionContent(kind=Kind.MESSAGE, external_id=f"{mode}-{i}", text=TEXTS[i % 2])
            out = submit(session, content, actor="bench")
            items.append((out.submission_id, out.revision))
        session.commit()
    if mode == "batched":
        for start in range(0, len(items), batch):
            enqueue_score_batch(ctx.score_queue, items[start : start + batch])
    else:
        enqueue_scores(ctx.score_queue, items)
    worker_class = Worker if mode == "fork" else SimpleWorker
    worker = make_worker(ctx, worker_class)
    started = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - started
    with ctx.session_factory() as session:
        done = session.scalar(select(func.count()).select_from(Assessment))
    if done != n_jobs:
        sys.exit(f"{mode}: {done} assessments for {n_jobs} jobs")
    set_context(None)
    ctx.engine.dispose()
    return n_jobs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--plot", type=Path, default=Path("var/bench/worker.png"), help="bar chart PNG")
    args = parser.parse_args()
    scorer = load_scorer(Settings())
    with tempfile.TemporaryDirectory(prefix="vigie-bench-") as tmp:
        workdir = Path(tmp)
        proc, redis_url = start_redis(workdir)
        try:
            rates = {
                mode: run_mode(mode, args.jobs, args.batch, redis_url, workdir, scorer)
                for mode in ("fork", "simple", "batched")
            }
        finally:
            proc.terminate()
            proc.wait()
    labels = {
        "fork": "Worker (fork per job)",
        "simple": "SimpleWorker",
        "batched": f"SimpleWorker, {args.batch}/job",
    }
    print(f"score_submission throughput, {args.jobs} messages, SQLite, one worker process")
    print(f"{'mode':<28}{'jobs/s':>10}{'ms/job':>10}")
    for mode, rate in rates.items():
        print(f"{labels[mode]:<28}{rate:>10.1f}{1000 / rate:>10.2f}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.barh([labels[m] for m in rates], list(rates.values()))
        ax.set_xlabel("submissions scored per second")
        fig.tight_layout()
        fig.savefig(args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
