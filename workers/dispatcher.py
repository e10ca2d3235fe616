"""The dispatcher: moves accepted submissions from the database to the workers in batches.

With `settings.dispatch == "batched"` the API only commits each submission (`queued`, never
dispatched). A dispatcher thread in each worker process claims those revisions from the
database, many per transaction, and enqueues them as `score_submissions` jobs of up to
`settings.dispatch_batch_size` revisions in one Redis round trip. This replaces one RQ job per
submission (≈4 ms of queue plumbing and one commit each) by one job and one commit per batch,
which is where throughput comes from (PERFORMANCE_NOTES.md: "batch at every hop").

The database stays the record of what must be scored: a claim that never reaches Redis (the
process died in between, Redis was down) is re-enqueued by the sweeper once stale.
"""

from __future__ import annotations

import logging
import secrets
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy.orm import Session, sessionmaker

from moderation.clock import utcnow
from moderation.settings import Settings
from moderation.submissions import claim_undispatched
from workers.queues import enqueue_score_batches

log = logging.getLogger(__name__)

LOCK_KEY = "vigie:dispatcher:lock"
# Revisions claimed per pass: several jobs' worth, so a backlog drains in few transactions.
MAX_BATCHES_PER_PASS = 10


def dispatch_once(session_factory: sessionmaker[Session], queue: Queue, settings: Settings) -> int:
    """Claim never-dispatched queued revisions and enqueue them as batch jobs; returns how many.

    Commits the claim BEFORE enqueueing: a job never names a revision whose claim could roll back.
    Raises database errors (the loop logs them); a Redis failure leaves the claim to the sweeper.
    """
    limit = max(1, settings.dispatch_batch_size) * MAX_BATCHES_PER_PASS
    with session_factory() as session:
        claimed = claim_undispatched(session, utcnow(), limit)
        session.commit()
    if not claimed:
        return 0
    enqueued = enqueue_score_batches(queue, claimed, settings.dispatch_batch_size)
    if enqueued < len(claimed):
        log.warning("dispatched %d revisions but could not enqueue them; the sweeper will", len(claimed))
    return enqueued


def run_dispatcher(
    session_factory: sessionmaker[Session], queue: Queue, settings: Settings, stop: threading.Event
) -> None:
    """Dispatch until `stop` is set: immediately again after a full pass, else every interval.

    A short Redis lock lets one dispatcher of the fleet poll at a time (the claim is race-safe
    anyway; the lock only saves the others a useless query). Errors are logged, the loop goes on.
    """
    redis: Redis = queue.connection
    token = secrets.token_hex(8)
    lock_ttl_ms = 10_000
    full = max(1, settings.dispatch_batch_size) * MAX_BATCHES_PER_PASS
    while not stop.is_set():
        count = 0
        try:
            if redis.set(LOCK_KEY, token, nx=True, px=lock_ttl_ms):
                try:
                    count = dispatch_once(session_factory, queue, settings)
                finally:
                    _release(redis, token)
        except RedisError as exc:
            log.warning("dispatcher cannot reach Redis: %s", type(exc).__name__)
            stop.wait(1.0)
            continue
        except Exception as exc:
            # Database unavailable or locked: retry after a pause, never die.
            log.warning("dispatch pass failed: %s", type(exc).__name__)
            stop.wait(1.0)
            continue
        if count < full:
            stop.wait(settings.dispatch_interval_s)


_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def _release(redis: Redis, token: str) -> None:
    # Only the holder deletes the lock (a slow pass may have outlived its TTL).
    redis.eval(_RELEASE_SCRIPT, 1, LOCK_KEY, token)


def start_dispatcher_thread(
    session_factory: sessionmaker[Session], queue: Queue, settings: Settings
) -> tuple[threading.Thread, threading.Event]:
    """Run `run_dispatcher` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_dispatcher,
        args=(session_factory, queue, settings, stop),
        name="vigie-dispatcher",
        daemon=True,
    )
    thread.start()
    return thread, stop
