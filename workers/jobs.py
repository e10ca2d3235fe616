"""RQ job functions. They take ids only and find everything else in the worker context.

Errors are split in two: transient ones (database or Redis unavailable, network) are raised so
RQ retries the job and, failing that, the sweeper re-enqueues it; anything else means the content
itself cannot be scored, so the revision is marked `failed` instead of being retried forever.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Sequence

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from moderation.submissions import mark_failed
from workers.context import WorkerContext, current_context
from workers.delivery import DeliveryResult, deliver_event
from workers.queues import enqueue_webhooks
from workers.scoring import Outcome, score_and_record, score_and_record_many
from workers.shadow import ShadowScorer

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    PoolTimeoutError,
    RedisError,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying unchanged: infrastructure, not the content."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, TRANSIENT_ERRORS)


def score_submission(submission_id: str, revision: int) -> dict[str, object]:
    """Score one revision and record its verdict exactly once; announce it by webhook."""
    ctx = current_context()
    if ctx.settings.debug_job_delay_s > 0:
        # Fault injection for the SIGKILL test: a window in which nothing is recorded yet.
        time.sleep(ctx.settings.debug_job_delay_s)
    try:
        outcome = score_and_record(
            ctx.session_factory,
            ctx.scorer,
            submission_id,
            int(revision),
            emit_webhook=bool(ctx.settings.webhook_url),
            signals=ctx.signals,
        )
    except Exception as exc:
        if is_transient(exc):
            log.warning("transient error scoring submission=%s revision=%s: %s", submission_id, revision, exc)
            raise
        _give_up(ctx, [(submission_id, int(revision))], exc)
        return {"status": "failed"}
    _after_record(ctx, [outcome])
    return {"status": outcome.status, "verdict": outcome.verdict}


def score_submissions(items: Sequence[Sequence[object]]) -> dict[str, int]:
    """Batch job: score several [submission_id, revision] pairs with one model call and one commit."""
    ctx = current_context()
    pairs = [(str(sid), int(str(rev))) for sid, rev in items]
    try:
        outcomes = score_and_record_many(
            ctx.session_factory,
            ctx.scorer,
            pairs,
            emit_webhook=bool(ctx.settings.webhook_url),
            signals=ctx.signals,
        )
    except Exception as exc:
        if is_transient(exc):
            raise
        # One bad item must not sink the batch: fall back to one job per item.
        log.warning("batch of %d failed (%s), scoring items one by one", len(pairs), type(exc).__name__)
        for sid, rev in pairs:
            score_submission(sid, rev)
        return {"scored": -1}
    _after_record(ctx, outcomes)
    return {"scored": sum(o.status == "scored" for o in outcomes)}


def deliver_webhook(event_id: str) -> dict[str, object]:
    """POST one outbox event; failures are scheduled in the outbox, which the sweeper re-enqueues."""
    ctx = current_context()
    result: DeliveryResult = deliver_event(ctx.session_factory, ctx.settings, event_id)
    return {"status": result.status, "http_status": result.http_status}


def deliver_webhooks(event_ids: Sequence[str]) -> dict[str, int]:
    """Batch job: deliver several outbox events in turn (each one's failure is scheduled alone)."""
    ctx = current_context()
    counts: dict[str, int] = {}
    for event_id in event_ids:
        result = deliver_event(ctx.session_factory, ctx.settings, str(event_id))
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


def _after_record(ctx: WorkerContext, outcomes: Sequence[Outcome]) -> None:
    if isinstance(ctx.scorer, ShadowScorer):
        # The active verdicts are committed; the candidate's go in their own transaction (never raises).
        ctx.scorer.record_pending(ctx.session_factory, outcomes)
    if len(outcomes) > 1:
        # One line per batch: a line per item costs more than scoring it at batch throughput.
        statuses: dict[str, int] = {}
        for outcome in outcomes:
            statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
        log.info("scored batch of %d: %s", len(outcomes), statuses)
    for outcome in outcomes if len(outcomes) == 1 else ():
        log.info(
            "scored submission=%s revision=%s outcome=%s verdict=%s ms=%.1f",
            outcome.submission_id,
            outcome.revision,
            outcome.status,
            outcome.verdict,
            outcome.duration_ms or 0.0,
        )
    if not ctx.settings.webhook_url:
        return
    # Events were committed with the assessments; enqueue their delivery now (the sweeper covers a
    # miss). The recording returned their ids: no query (webhook_events.subject_id has no index).
    event_ids = [o.event_id for o in outcomes if o.status == "scored" and o.event_id]
    if not event_ids:
        return
    # One delivery job per scored batch, not per event (a job costs more than a loopback POST).
    enqueue_webhooks(ctx.webhook_queue, event_ids)


def _give_up(ctx: WorkerContext, pairs: Sequence[tuple[str, int]], exc: BaseException) -> None:
    # The exception message may quote the content: log its type and frames only (no PII in logs).
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("cannot score %s, marking failed: %s\n%s", pairs, type(exc).__name__, frames)
    with ctx.session_factory() as session:
        for sid, rev in pairs:
            mark_failed(session, sid, rev, type(exc).__name__)
        session.commit()
