"""The worker entry point (composition root #2): build everything from Settings, load the model
once, start a sweeper thread, then process jobs.

`SimpleWorker` (jobs run in this process) is the default: with the model already loaded, forking a
work horse per job only adds cost, and a sweeper thread would not survive a fork anyway.
Measured by bench/bench_worker.py (2 vCPU, SQLite, real scorer, 300 messages): forking Worker
≈6 jobs/s (≈170 ms/job), SimpleWorker ≈28 jobs/s (≈36 ms/job), SimpleWorker with 50 revisions per
`score_submissions` job ≈120 submissions/s (≈8 ms each). A job that crashes the process is recovered by the
sweeper of another worker (or of this one once restarted).

A Redis outage does not end the process: RQ's work loop quits when Redis fails outside its dequeue
wait (a heartbeat or a job's bookkeeping raising a connection error; `bench/chaos.py` lost every
worker on a Redis restart that way), so `run_worker` supervises it in process: it backs off with
jitter, builds a fresh RQ worker (new connection, new name) and resumes, and restarts a sweeper or
dispatcher thread that died. What a dead RQ worker left behind is the sweeper's: the database says
what is still unscored.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker, Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from rq.worker import DequeueStrategy

from moderation.redaction import install_log_redaction
from moderation.settings import Settings
from workers.context import WorkerContext, build_context, set_context
from workers.dispatcher import start_dispatcher_thread
from workers.queues import FAILURE_TTL_S
from workers.scoring import Scorer
from workers.sweeper import start_sweeper_thread

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [job=%(job_id)s] %(message)s"

log = logging.getLogger(__name__)

# Restart backoff after the RQ worker quit on a Redis failure: 0.5 s doubling to 15 s, each delay
# drawn in [half, full] so a fleet of workers does not reconnect to a restarted Redis in lockstep.
RESTART_BACKOFF_BASE_S = 0.5
RESTART_BACKOFF_CAP_S = 15.0
# A worker that ran this long before failing was healthy: the next failure starts the backoff over.
HEALTHY_RUN_S = 60.0


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


def make_worker(
    ctx: WorkerContext,
    worker_class: type[Worker] | type[SimpleWorker] = SimpleWorker,
    incarnation: int = 0,
) -> Worker:
    """An RQ worker on the scoring and webhook queues, JSON serializer (never pickle).

    `incarnation` > 0 names a worker rebuilt in the same process after a Redis outage: Redis
    restored from its AOF may still hold the previous one's registration, and RQ refuses to
    register a live-looking name twice.

    The worker gets its own Redis client: RQ blocks in BLPOP for minutes and raises its socket
    timeout to match, but only for connections it opens. Sharing `ctx.redis` (10 s socket timeout,
    connections already opened by the sweeper and dispatcher threads) made idle workers time out,
    back off exponentially and pick up new work up to a minute late.
    """
    connection = Redis.from_url(ctx.settings.redis_url, socket_connect_timeout=2, health_check_interval=30)
    worker: Worker = worker_class(  # type: ignore[assignment]
        [ctx.score_queue, ctx.webhook_queue],
        connection=connection,
        serializer=JSONSerializer,
        name=f"vigie-{os.uname().nodename}-{os.getpid()}" + (f".{incarnation}" if incarnation else ""),
    )
    # RQ's warm-stop handler (SIGTERM/SIGINT, `rq shutdown`) goes through this hook: recording it
    # tells a requested stop from RQ quitting on a Redis failure.
    warm_stop = worker.handle_warm_shutdown_request

    def record_stop() -> None:
        worker.vigie_stop_requested = True  # type: ignore[attr-defined]
        warm_stop()

    worker.handle_warm_shutdown_request = record_stop  # type: ignore[method-assign]
    return worker


def stop_was_requested(worker: Worker) -> bool:
    """Whether `worker` was asked to stop (signal or RQ command) rather than quitting on an error."""
    return bool(getattr(worker, "vigie_stop_requested", False))


def restart_delay(failures: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before rebuilding the RQ worker after `failures` consecutive failures (>= 1)."""
    ceiling = min(RESTART_BACKOFF_CAP_S, RESTART_BACKOFF_BASE_S * 2 ** max(0, failures - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


class StopSignals:
    """SIGTERM/SIGINT between RQ work loops (RQ installs its own handlers only inside `work()`, and
    they belong to the dead worker object): a signal sets `requested`. Main thread only; elsewhere
    `install` does nothing and only RQ's handling applies."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._original: dict[signal.Signals, Any] | None = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        previous = {sig: signal.signal(sig, self._on_signal) for sig in self.SIGNALS}
        if self._original is None:
            self._original = previous

    def restore(self) -> None:
        """Put back the handlers found by the first `install`."""
        for sig, handler in (self._original or {}).items():
            signal.signal(sig, handler)
        self._original = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.requested.set()


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
    if scorer is None:
        # The model, rule automata and brand lists loaded above live as long as the process and
        # are never garbage: freezing them moves them out of the collector's generations, so the
        # full collections that the many short-lived objects of each job trigger stop re-walking
        # them (measured by a teammate with bench/bench_worker.py: worker CPU ≈0.9 → ≈0.73 ms/item).
        gc.collect()
        gc.freeze()
    set_context(ctx)
    starters: list[Callable[[], tuple[threading.Thread, threading.Event]]] = []
    if with_sweeper if with_sweeper is not None else not burst:
        starters.append(
            lambda: start_sweeper_thread(ctx.session_factory, ctx.score_queue, settings, ctx.webhook_queue)
        )
    if settings.dispatch == "batched" and not burst:
        starters.append(lambda: start_dispatcher_thread(ctx.session_factory, ctx.score_queue, settings))
    threads = [start() for start in starters]
    nightly = settings.nightly_retrain and not burst
    if nightly:
        from workers.nightly import schedule_next

        try:
            schedule_next(ctx.score_queue, settings)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # The sweeper schedules a missing night on its next pass once Redis answers.
            log.warning("cannot schedule the nightly retraining yet: %s", type(exc).__name__)
    try:
        return _work_until_stopped(ctx, worker_class, burst, nightly, starters, threads)
    finally:
        for _thread, stop in threads:
            stop.set()
        for thread, _stop in threads:
            thread.join(timeout=5)
        set_context(None)
        ctx.engine.dispose()
        ctx.redis.close()


def _work_until_stopped(
    ctx: WorkerContext,
    worker_class: type[Worker] | type[SimpleWorker],
    burst: bool,
    nightly: bool,
    starters: list[Callable[[], tuple[threading.Thread, threading.Event]]],
    threads: list[tuple[threading.Thread, threading.Event]],
) -> bool:
    """Run RQ work loops until a stop is requested (or, in burst mode, once); returns whether any job ran.

    A work loop that ends without a stop request ended on a Redis failure (RQ logs the cause and
    quits, or a connection error escapes its start-up or teardown): back off, rebuild, resume.
    """
    worked = False
    failures = 0
    incarnation = 0
    orphans: list[str] = []
    signals = StopSignals()
    try:
        while True:
            worker: Worker | None = None
            started = time.monotonic()
            cause = "RQ quit its work loop, logged above"
            try:
                # The constructor already talks to Redis (CLIENT SETNAME): inside the guarded block.
                worker = make_worker(ctx, worker_class, incarnation)
                # Round robin: a scoring backlog must not starve webhook deliveries (RQ's default
                # always serves the first queue first).
                worked = (
                    bool(
                        worker.work(
                            burst=burst,
                            # RQ's scheduler enqueues jobs scheduled with `enqueue_at` (nightly retraining).
                            with_scheduler=nightly,
                            logging_level=ctx.settings.log_level.upper(),
                            dequeue_strategy=DequeueStrategy.ROUND_ROBIN,
                        )
                    )
                    or worked
                )
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if burst:
                    raise
                cause = type(exc).__name__
            finally:
                if not burst:
                    signals.install()
                if worker is not None:
                    orphans.extend(_abandoned_job(worker))
                    _dispose(worker)
            if burst or signals.requested.is_set() or (worker is not None and stop_was_requested(worker)):
                return worked
            failures = 1 if time.monotonic() - started >= HEALTHY_RUN_S else failures + 1
            delay = restart_delay(failures)
            # The exception's class only: a Redis error message can quote the server address,
            # never credentials, but nothing here needs more.
            log.error(
                "RQ worker %s quit without a stop request (%s); restarting in %.1f s (failure %d in a row)",
                worker.name if worker is not None else f"incarnation {incarnation}",
                cause,
                delay,
                failures,
            )
            if signals.requested.wait(delay):
                return worked
            for i, (thread, _stop) in enumerate(threads):
                if not thread.is_alive():
                    log.error("%s thread had died; restarting it", thread.name)
                    threads[i] = starters[i]()
            orphans = _release_orphans(ctx, orphans)
            if signals.requested.is_set():
                return worked
            incarnation += 1
    finally:
        signals.restore()


def _abandoned_job(worker: Worker) -> list[str]:
    """The job a SimpleWorker was finishing when its loop died (its Redis bookkeeping never ran).

    A SimpleWorker runs jobs in this thread, so that job is over. A forking worker's work horse
    may still be running: its job is left to RQ's and the sweeper's timeouts.
    """
    if not isinstance(worker, SimpleWorker):
        return []
    # The in-memory executions only: `get_current_job_id()` falls back to reading Redis when the
    # worker was idle, and Redis is what just failed (it raised here and ended the process).
    return [execution.job_id for execution in worker.executions.values()]


def _release_orphans(ctx: WorkerContext, job_ids: list[str]) -> list[str]:
    """Mark jobs this process abandoned as failed; returns those Redis could not be told about yet.

    Left `started`, such a job would look alive to the sweeper until its timeout (120 s by default)
    and, through the sweeper's horizon, keep every revision enqueued after it from being re-enqueued.
    Whether its verdicts were committed is the database's business: the sweeper re-enqueues what is
    still `queued` once the job no longer looks alive.
    """
    pending: list[str] = []
    for job_id in job_ids:
        try:
            job = Job.fetch(job_id, connection=ctx.redis, serializer=JSONSerializer)
            if job.get_status() != JobStatus.STARTED:
                continue
            with ctx.redis.pipeline() as pipe:
                StartedJobRegistry(
                    job.origin, connection=ctx.redis, serializer=JSONSerializer
                ).remove_executions(job, pipeline=pipe)
                job.set_status(JobStatus.FAILED, pipeline=pipe)
                FailedJobRegistry(job.origin, connection=ctx.redis, serializer=JSONSerializer).add(
                    job, ttl=FAILURE_TTL_S, exc_string="abandoned: the worker lost Redis", pipeline=pipe
                )
                pipe.execute()
            log.warning("released job %s abandoned during a Redis outage", job_id)
        except NoSuchJobError:
            continue
        except (RedisConnectionError, RedisTimeoutError):
            pending.append(job_id)
        except Exception:
            # Best effort: the job's own timeout releases it anyway; never let cleanup kill the worker.
            log.exception("could not release abandoned job %s", job_id)
    return pending


def _dispose(worker: Worker) -> None:
    """Close what a dead work loop left open: RQ's teardown (which stops its pub/sub thread) needs
    Redis, and a thread left behind would retry its subscription forever, one per restart."""
    thread = worker.pubsub_thread
    if thread is not None and thread.is_alive():
        thread.stop()
        thread.join(timeout=2)
        with contextlib.suppress(Exception):
            worker.pubsub.close()
    with contextlib.suppress(Exception):
        worker.connection.close()
