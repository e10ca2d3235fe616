"""The sweeper recovers revisions whose scoring job was lost, and leaves live jobs alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from rq import Queue
from sqlalchemy.orm import Session, sessionmaker

from moderation.clock import utcnow
from moderation.settings import Settings
from moderation.submissions import SubmitOutcome, get_revision
from tests.conftest import free_port
from tests.integration.conftest import assessment_count
from workers.context import WorkerContext
from workers.queues import enqueue_score, make_redis, score_job_id, score_queue
from workers.sweeper import sweep_once


def later(settings: Settings) -> object:
    """A `now` past the staleness threshold."""
    return utcnow() + timedelta(seconds=settings.sweeper_stale_after_s + 1)


def test_enqueue_while_redis_is_down_then_sweeper_recovers(
    worker_ctx: WorkerContext,
    settings: Settings,
    run_burst: Callable[[], bool],
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    outcome = submit_message()
    dead = make_redis(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    assert enqueue_score(score_queue(dead, settings), outcome.submission_id, 1) is False
    assert worker_ctx.score_queue.count == 0

    # Not stale yet: the sweeper leaves fresh submissions to the normal path.
    assert sweep_once(session_factory, worker_ctx.score_queue, settings) == 0
    assert sweep_once(session_factory, worker_ctx.score_queue, settings, now=later(settings)) == 1
    with session_factory() as session:
        rev = get_revision(session, outcome.submission_id, 1)
        assert rev is not None and rev.attempts == 1
    run_burst()
    assert assessment_count(session_factory, outcome.submission_id) == 1


def test_job_deleted_from_redis_is_recovered(
    worker_ctx: WorkerContext,
    settings: Settings,
    run_burst: Callable[[], bool],
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    outcome = submit_message()
    assert enqueue_score(worker_ctx.score_queue, outcome.submission_id, 1)
    worker_ctx.score_queue.empty()  # Redis lost the job (restart without persistence)
    assert worker_ctx.score_queue.count == 0
    assert sweep_once(session_factory, worker_ctx.score_queue, settings, now=later(settings)) == 1
    run_burst()
    assert assessment_count(session_factory, outcome.submission_id) == 1
    # Scored content is never swept again.
    assert (
        sweep_once(
            session_factory, worker_ctx.score_queue, settings, now=later(settings) + timedelta(hours=1)
        )
        == 0
    )


def test_job_still_waiting_in_redis_is_not_duplicated(
    worker_ctx: WorkerContext,
    settings: Settings,
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    outcome = submit_message()
    assert enqueue_score(worker_ctx.score_queue, outcome.submission_id, 1)
    assert sweep_once(session_factory, worker_ctx.score_queue, settings, now=later(settings)) == 0
    assert worker_ctx.score_queue.job_ids == [score_job_id(outcome.submission_id, 1)]


def test_revision_failing_too_often_is_given_up(
    worker_ctx: WorkerContext,
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    outcome = submit_message()
    queue: Queue = worker_ctx.score_queue
    now = utcnow()
    for i in range(settings.score_max_attempts):
        now = now + timedelta(seconds=settings.sweeper_stale_after_s + 1)
        assert sweep_once(session_factory, queue, settings, now=now) == 1, i
        queue.empty()  # the job is lost every time (e.g. the content crashes every worker)
    now = now + timedelta(seconds=settings.sweeper_stale_after_s + 1)
    assert sweep_once(session_factory, queue, settings, now=now) == 0
    with session_factory() as session:
        rev = get_revision(session, outcome.submission_id, 1)
        assert rev is not None and rev.status == "failed"
