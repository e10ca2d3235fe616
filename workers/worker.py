"""The worker entry point (composition root #2): build everything from Settings, load the model
once, start a sweeper thread, then process jobs.

`SimpleWorker` (jobs run in this process) is the default: with the model already loaded, forking a
work horse per job only adds cost, and a sweeper thread would not survive a fork anyway.
Measured by bench/bench_worker.py (2 vCPU, SQLite, real scorer, 300 messages): forking Worker
≈6 jobs/s (≈170 ms/job), SimpleWorker ≈28 jobs/s (≈36 ms/job), SimpleWorker with 50 revisions per
`score_submissions` job ≈120 submissions/s (≈8 ms each). A job that crashes the process is recovered by the
sweeper of another worker (or of this one once restarted).
"""

from __future__ import annotations

import logging
import os
import sys

from redis import Redis
from rq import SimpleWorker, Worker, get_current_job
from rq.serializers import JSONSerializer
from rq.worker import DequeueStrategy

from moderation.redaction import install_log_redaction
from moderation.settings import Settings
from workers.context import WorkerContext, build_context, set_context
from workers.dispatcher import start_dispatcher_thread
from workers.scoring import Scorer
from workers.sweeper import start_sweeper_thread

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [job=%(job_id)s] %(message)s"


class JobIdFilter(logging.Filter):
    """Adds `job_id` (the current RQ job, "-" outside jobs) to every record. Job ids contain the
    submission id and revision, never content."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = get_current_job()
        record.job_id = job.id if job is not None else "-"
        return True


def configure_logging(level: str) -> None:
    """Log to stderr with the job id on each line, personal data masked; idempotent."""
    install_log_redaction()
    root = logging.getLogger()
    if any(isinstance(f, JobIdFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(JobIdFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())


def make_worker(ctx: WorkerContext, worker_class: type[Worker] | type[SimpleWorker] = SimpleWorker) -> Worker:
    """An RQ worker on the scoring and webhook queues, JSON serializer (never pickle).

    The worker gets its own Redis client: RQ blocks in BLPOP for minutes and raises its socket
    timeout to match, but only for connections it opens. Sharing `ctx.redis` (10 s socket timeout,
    connections already opened by the sweeper and dispatcher threads) made idle workers time out,
    back off exponentially and pick up new work up to a minute late.
    """
    connection = Redis.from_url(ctx.settings.redis_url, socket_connect_timeout=2, health_check_interval=30)
    worker = worker_class(
        [ctx.score_queue, ctx.webhook_queue],
        connection=connection,
        serializer=JSONSerializer,
        name=f"vigie-{os.uname().nodename}-{os.getpid()}",
    )
    return worker  # type: ignore[return-value]


def run_worker(
    settings: Settings,
    burst: bool = False,
    *,
    scorer: Scorer | None = None,
    worker_class: type[Worker] | type[SimpleWorker] = SimpleWorker,
    with_sweeper: bool | None = None,
) -> bool:
    """Run a worker until stopped (or, with `burst`, until the queues are empty).

    The model is loaded before the first job (and before any fork). A sweeper thread runs alongside
    unless `with_sweeper` is False (default: on, except in burst mode), and so does the dispatcher when
    `settings.dispatch == "batched"` (except in burst mode). Returns whether any job ran.
    """
    configure_logging(settings.log_level)
    ctx = build_context(settings, scorer)
    set_context(ctx)
    threads = []
    if with_sweeper if with_sweeper is not None else not burst:
        threads.append(
            start_sweeper_thread(ctx.session_factory, ctx.score_queue, settings, ctx.webhook_queue)
        )
    if settings.dispatch == "batched" and not burst:
        threads.append(start_dispatcher_thread(ctx.session_factory, ctx.score_queue, settings))
    worker = make_worker(ctx, worker_class)
    nightly = settings.nightly_retrain and not burst
    if nightly:
        from workers.nightly import schedule_next

        schedule_next(ctx.score_queue, settings)
    try:
        # Round robin: a scoring backlog must not starve webhook deliveries (RQ's default always
        # serves the first queue first).
        return bool(
            worker.work(
                burst=burst,
                # RQ's scheduler enqueues jobs scheduled with `enqueue_at` (the nightly retraining).
                with_scheduler=nightly,
                logging_level=settings.log_level.upper(),
                dequeue_strategy=DequeueStrategy.ROUND_ROBIN,
            )
        )
    finally:
        worker.connection.close()
        for _thread, stop in threads:
            stop.set()
        for thread, _stop in threads:
            thread.join(timeout=5)
        set_context(None)
        ctx.engine.dispose()
        ctx.redis.close()
