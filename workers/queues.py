"""Redis connections, RQ queues and enqueueing. Jobs are referenced by dotted name and take ids only.

RQ's JSON serializer is used everywhere: with pickle, write access to Redis would be code execution.
Enqueueing never raises on a Redis outage: the submission is already committed as `queued`, and
the sweeper re-enqueues it once Redis is back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from moderation.settings import Settings

log = logging.getLogger(__name__)

SCORE_JOB = "workers.jobs.score_submission"
SCORE_BATCH_JOB = "workers.jobs.score_submissions"
WEBHOOK_JOB = "workers.jobs.deliver_webhook"
WEBHOOK_BATCH_JOB = "workers.jobs.deliver_webhooks"
# Immediate retries for transient errors (database busy, connection reset); anything longer is the
# sweeper's job, so no RQ scheduler process is needed.
SCORE_RETRY = Retry(max=2)
JOB_TIMEOUT_S = 120  # default of `settings.job_timeout_s`
# The database records outcomes: RQ results are not kept (saves Redis memory and commands).
RESULT_TTL_S = 0
FAILURE_TTL_S = 7 * 24 * 3600


def make_redis(url: str) -> Redis:
    """A Redis client for `url`, failing fast when the server is unreachable."""
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)


def check_redis(redis: Redis) -> None:
    """Raise if Redis does not answer PING (used by /readyz)."""
    redis.ping()


def _json_queue(name: str, redis: Redis, settings: Settings) -> Queue:
    # JSON, never pickle: write access to Redis must not become code execution (PERFORMANCE_NOTES).
    return Queue(name, connection=redis, serializer=JSONSerializer, default_timeout=settings.job_timeout_s)


def score_queue(redis: Redis, settings: Settings) -> Queue:
    """The queue scoring jobs go to (`settings.queue_name`)."""
    return _json_queue(settings.queue_name, redis, settings)


def webhook_queue(redis: Redis, settings: Settings) -> Queue:
    """The queue webhook deliveries go to (`settings.webhook_queue_name`)."""
    return _json_queue(settings.webhook_queue_name, redis, settings)


def score_job_id(submission_id: str, revision: int) -> str:
    """Stable job id: re-enqueueing the same revision replaces the job instead of piling up copies."""
    return f"score-{submission_id}-{revision}"


def enqueue_score(queue: Queue, submission_id: str, revision: int) -> bool:
    """Enqueue scoring of one revision. Returns False (logged, never raised) when Redis is down."""
    try:
        queue.enqueue_call(
            SCORE_JOB,
            args=(submission_id, revision),
            job_id=score_job_id(submission_id, revision),
            retry=SCORE_RETRY,
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
        )
    except (RedisError, OSError) as exc:
        log.warning(
            "enqueue failed, the sweeper will retry: submission=%s revision=%s error=%s",
            submission_id,
            revision,
            type(exc).__name__,
        )
        return False
    return True


def enqueue_scores(queue: Queue, items: Sequence[tuple[str, int]]) -> int:
    """Enqueue one scoring job per (submission_id, revision) in a single Redis round trip.

    Returns how many were enqueued (0 when Redis is down; logged, never raised).
    """
    if not items:
        return 0
    jobs = [
        Queue.prepare_data(
            SCORE_JOB,
            args=(submission_id, revision),
            job_id=score_job_id(submission_id, revision),
            retry=SCORE_RETRY,
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
        )
        for submission_id, revision in items
    ]
    return len(items) if _enqueue_many(queue, jobs, f"{len(items)} scoring jobs") else 0


def enqueue_score_batch(queue: Queue, items: Sequence[tuple[str, int]]) -> bool:
    """Enqueue ONE job scoring several revisions (one model call, one commit). False when Redis is down."""
    if not items:
        return True
    first_id, first_rev = items[0]
    try:
        queue.enqueue_call(
            SCORE_BATCH_JOB,
            args=([[sid, rev] for sid, rev in items],),
            job_id=f"score-batch-{first_id}-{first_rev}-{len(items)}",
            retry=SCORE_RETRY,
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
        )
    except (RedisError, OSError) as exc:
        log.warning("batch enqueue of %d revisions failed: %s", len(items), type(exc).__name__)
        return False
    return True


def enqueue_score_batches(queue: Queue, items: Sequence[tuple[str, int]], batch_size: int) -> int:
    """Enqueue `items` as `score_submissions` jobs of at most `batch_size` revisions each, all in one
    Redis round trip (`enqueue_many`). Returns how many revisions were enqueued (0 when Redis is down).

    Batch job ids are random: a revision's liveness is judged by the sweeper from the queue's age,
    not from a per-revision job id.
    """
    if not items:
        return 0
    size = max(1, batch_size)
    jobs = [
        Queue.prepare_data(
            SCORE_BATCH_JOB,
            args=([[sid, rev] for sid, rev in items[start : start + size]],),
            job_id=f"score-batch-{uuid.uuid4().hex}",
            retry=SCORE_RETRY,
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
        )
        for start in range(0, len(items), size)
    ]
    return len(items) if _enqueue_many(queue, jobs, f"batch jobs of {len(items)} revisions") else 0


# Events per delivery job: each is one HTTP round trip to the receiver (up to its timeout when it is
# down), so a job stays well inside the job timeout and the outbox lease.
WEBHOOK_BATCH = 20


def enqueue_webhooks(queue: Queue, event_ids: Sequence[str]) -> bool:
    """Enqueue jobs delivering several outbox events each (WEBHOOK_BATCH per job), in one round trip.

    False (logged, never raised) when Redis is down.
    """
    if not event_ids:
        return True
    if len(event_ids) == 1:
        return enqueue_webhook(queue, event_ids[0])
    jobs = [
        Queue.prepare_data(
            WEBHOOK_BATCH_JOB,
            args=(list(event_ids[start : start + WEBHOOK_BATCH]),),
            job_id=f"webhooks-{uuid.uuid4().hex}",
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
        )
        for start in range(0, len(event_ids), WEBHOOK_BATCH)
    ]
    return _enqueue_many(queue, jobs, f"webhook jobs of {len(event_ids)} events")


def enqueue_webhook(queue: Queue, event_id: str) -> bool:
    """Enqueue delivery of one outbox event. False (logged, never raised) when Redis is down."""
    try:
        queue.enqueue_call(
            WEBHOOK_JOB,
            args=(event_id,),
            job_id=f"webhook-{event_id}",
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
        )
    except (RedisError, OSError) as exc:
        log.warning(
            "webhook enqueue failed, the sweeper will retry: event=%s error=%s", event_id, type(exc).__name__
        )
        return False
    return True


def _enqueue_many(queue: Queue, jobs: list[Any], what: str) -> bool:
    """Enqueue prepared jobs in one Redis round trip; False (logged, never raised) when Redis is down:
    the database still says what must be done, so the sweeper re-enqueues it."""
    try:
        queue.enqueue_many(jobs)
    except (RedisError, OSError) as exc:
        log.warning("enqueue of %s failed, the sweeper will retry: %s", what, type(exc).__name__)
        return False
    return True
