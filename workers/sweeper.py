"""The sweeper: the database says what must be scored and delivered; Redis is only the fast path.

It re-enqueues revisions left `queued` (Redis was down at submit time, a worker was SIGKILLed
mid-job, Redis lost its data) and webhook events that are due, and with `VIGIE_NIGHTLY_RETRAIN=1`
makes sure the next night's retraining is scheduled (a nightly run killed mid-way never schedules
the following one itself). A revision whose job is still
waiting in Redis, or still running within its timeout, is left alone, so a long backlog is not
duplicated.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy.orm import Session, sessionmaker

from moderation import webhooks
from moderation.clock import utcnow
from moderation.settings import Settings
from moderation.submissions import fail_exhausted, find_stale_queued_timed, mark_requeued
from workers.nightly import schedule_next
from workers.queues import JOB_TIMEOUT_S, enqueue_score_batches, enqueue_webhooks, score_job_id

log = logging.getLogger(__name__)

BATCH_LIMIT = 500
# A `started` job older than its timeout plus this margin belongs to a dead worker.
STARTED_GRACE = timedelta(seconds=10)
# Clock skew tolerated between the process that dispatched a revision and the one that enqueued its job.
CLOCK_MARGIN = timedelta(seconds=1)
# Lost revisions are re-enqueued in multi-item jobs of this size.
REQUEUE_BATCH = 100
WEBHOOK_BACKLOG_JOBS = 50
_WAITING = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED})
LOCK_KEY = "vigie:sweeper:lock"


def sweep_once(
    session_factory: sessionmaker[Session],
    queue: Queue,
    settings: Settings,
    now: datetime | None = None,
    webhook_queue: Queue | None = None,
) -> int:
    """One pass; returns how many jobs were enqueued (scoring + webhook deliveries).

    Never raises on a Redis outage (logs and returns what it managed).
    """
    now = now or utcnow()
    if settings.nightly_retrain:
        _ensure_next_night(queue, settings, now)
    older_than = now - timedelta(seconds=settings.sweeper_stale_after_s)
    enqueued = 0
    with session_factory() as session:
        failed = fail_exhausted(session, older_than, settings.score_max_attempts)
        if failed:
            log.error("gave up on %d revisions after %d attempts", failed, settings.score_max_attempts)
        session.commit()
        stale = find_stale_queued_timed(session, older_than, BATCH_LIMIT)
        if stale:
            try:
                lost, alive = _split_lost(queue, stale, now)
            except (RedisError, OSError) as exc:
                log.warning("sweeper cannot reach Redis: %s", type(exc).__name__)
                return 0
            count = enqueue_score_batches(queue, lost, REQUEUE_BATCH)
            enqueued += count
            if count:
                mark_requeued(session, lost, now)
            mark_requeued(session, alive, now, count_attempt=False)
            session.commit()
            if lost:
                log.info("re-enqueued %d stale revisions (%d still waiting in Redis)", len(lost), len(alive))
        target = webhook_queue or queue
        # With deliveries already waiting, leases expiring under a backlog would only pile duplicate
        # jobs on the queue; due events are picked up once it has drained.
        if settings.webhook_url and _queued_jobs(target) < WEBHOOK_BACKLOG_JOBS:
            events = webhooks.due_events(session, now, BATCH_LIMIT)
            sent: list[str] = []
            for start in range(0, len(events), REQUEUE_BATCH):
                chunk = [e.id for e in events[start : start + REQUEUE_BATCH]]
                if enqueue_webhooks(target, chunk):
                    sent.extend(chunk)
            webhooks.lease(session, sent, now)
            session.commit()
            enqueued += len(sent)
    return enqueued


def _ensure_next_night(queue: Queue, settings: Settings, now: datetime) -> None:
    # One EXISTS per pass while the next night is scheduled; the per-night job id makes a race
    # between two processes harmless (the second enqueue rewrites the same job).
    try:
        job = schedule_next(queue, settings, now)
    except (RedisError, OSError) as exc:
        log.warning("sweeper cannot schedule the nightly retraining: %s", type(exc).__name__)
        return
    if job is not None:
        log.info("scheduled the nightly retraining %s (it was missing)", job.id)


def _queued_jobs(queue: Queue) -> int:
    try:
        return int(queue.count)
    except (RedisError, OSError):
        return 0


def _split_lost(
    queue: Queue, items: list[tuple[str, int, datetime]], now: datetime
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Partition stale revisions into (job lost or finished without a verdict, job maybe still alive).

    A revision enqueued alone has a job named after it: its status says. A revision enqueued in a
    batch job has none, so its liveness is inferred from time: if it was (re-)enqueued no earlier
    than the oldest job still waiting in the queue or still running within its timeout, its job
    may be one of those; otherwise that job has finished or died, and the revision, still
    `queued`, was lost.
    """
    jobs = Job.fetch_many(
        [score_job_id(sid, rev) for sid, rev, _ in items],
        connection=queue.connection,
        serializer=queue.serializer,
    )
    horizon = _oldest_live_job(queue, now)
    lost: list[tuple[str, int]] = []
    alive: list[tuple[str, int]] = []
    for (sid, rev, enqueued_at), job in zip(items, jobs, strict=True):
        if job is not None:
            is_alive = _is_alive(job, now)
        else:
            is_alive = horizon is not None and enqueued_at >= horizon - CLOCK_MARGIN
        (alive if is_alive else lost).append((sid, rev))
    return lost, alive


def _oldest_live_job(queue: Queue, now: datetime) -> datetime | None:
    """Enqueue time of the oldest job still waiting in `queue` or running within its timeout."""
    candidates = queue.get_job_ids(0, 1)
    candidates += StartedJobRegistry(queue=queue).get_job_ids()
    oldest: datetime | None = None
    for job in Job.fetch_many(candidates, connection=queue.connection, serializer=queue.serializer):
        if job is None or job.enqueued_at is None or not _is_alive(job, now):
            continue
        enqueued_at = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=UTC)
        if oldest is None or enqueued_at < oldest:
            oldest = enqueued_at
    return oldest


def _is_alive(job: Job, now: datetime) -> bool:
    status = job.get_status(refresh=False)
    return status in _WAITING or (status == JobStatus.STARTED and not _overdue(job, now))


def _overdue(job: Job, now: datetime) -> bool:
    started = job.started_at
    if started is None:
        return True
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    timeout = job.timeout or JOB_TIMEOUT_S
    return now - started > timedelta(seconds=timeout) + STARTED_GRACE


def run_sweeper(
    session_factory: sessionmaker[Session],
    queue: Queue,
    settings: Settings,
    stop: threading.Event,
    webhook_queue: Queue | None = None,
) -> None:
    """Sweep every `settings.sweeper_interval_s` until `stop` is set.

    Several sweepers may run (one per worker process): a short Redis lock lets one of them
    sweep per interval. Errors are logged and the loop goes on.
    """
    redis: Redis = queue.connection
    token = secrets.token_hex(8)
    lock_ttl_ms = max(100, int(settings.sweeper_interval_s * 1000 * 0.9))
    while not stop.is_set():
        try:
            if redis.set(LOCK_KEY, token, nx=True, px=lock_ttl_ms):
                sweep_once(session_factory, queue, settings, webhook_queue=webhook_queue)
        except Exception:
            log.exception("sweeper pass failed")
        stop.wait(settings.sweeper_interval_s)


def start_sweeper_thread(
    session_factory: sessionmaker[Session],
    queue: Queue,
    settings: Settings,
    webhook_queue: Queue | None = None,
) -> tuple[threading.Thread, threading.Event]:
    """Run `run_sweeper` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_sweeper,
        args=(session_factory, queue, settings, stop, webhook_queue),
        name="vigie-sweeper",
        daemon=True,
    )
    thread.start()
    return thread, stop
