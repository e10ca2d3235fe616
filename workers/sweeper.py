"""The sweeper: the database says what must be scored and delivered; Redis is only the fast path.

It re-enqueues revisions left `queued` (Redis was down at submit time, a worker was SIGKILLed
mid-job, Redis lost its data) and webhook events that are due. A revision whose job is still
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
from sqlalchemy.orm import Session, sessionmaker

from moderation import webhooks
from moderation.clock import utcnow
from moderation.settings import Settings
from moderation.submissions import fail_exhausted, find_stale_queued, mark_requeued
from workers.queues import JOB_TIMEOUT_S, enqueue_scores, enqueue_webhook, score_job_id

log = logging.getLogger(__name__)

BATCH_LIMIT = 500
# A `started` job older than its timeout plus this margin belongs to a dead worker.
STARTED_GRACE = timedelta(seconds=10)
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
    older_than = now - timedelta(seconds=settings.sweeper_stale_after_s)
    enqueued = 0
    with session_factory() as session:
        failed = fail_exhausted(session, older_than, settings.score_max_attempts)
        if failed:
            log.error("gave up on %d revisions after %d attempts", failed, settings.score_max_attempts)
        session.commit()
        stale = find_stale_queued(session, older_than, BATCH_LIMIT)
        if stale:
            try:
                lost, alive = _split_lost(queue, stale, now)
            except (RedisError, OSError) as exc:
                log.warning("sweeper cannot reach Redis: %s", type(exc).__name__)
                return 0
            count = enqueue_scores(queue, lost)
            enqueued += count
            if count:
                mark_requeued(session, lost, now)
            mark_requeued(session, alive, now, count_attempt=False)
            session.commit()
            if lost:
                log.info("re-enqueued %d stale revisions (%d still waiting in Redis)", len(lost), len(alive))
        if settings.webhook_url:
            target = webhook_queue or queue
            events = webhooks.due_events(session, now, BATCH_LIMIT)
            sent = [e.id for e in events if enqueue_webhook(target, e.id)]
            webhooks.lease(session, sent, now)
            session.commit()
            enqueued += len(sent)
    return enqueued


def _split_lost(
    queue: Queue, items: list[tuple[str, int]], now: datetime
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Partition stale revisions into (job lost or finished without a verdict, job still alive)."""
    jobs = Job.fetch_many(
        [score_job_id(sid, rev) for sid, rev in items],
        connection=queue.connection,
        serializer=queue.serializer,
    )
    lost: list[tuple[str, int]] = []
    alive: list[tuple[str, int]] = []
    for item, job in zip(items, jobs, strict=True):
        (alive if job is not None and _is_alive(job, now) else lost).append(item)
    return lost, alive


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
