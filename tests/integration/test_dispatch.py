"""Batched dispatch: the dispatcher claims queued revisions from the database once, workers score
them in batch jobs, and the sweeper tells a lost batch from a waiting one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from moderation.clock import utcnow
from moderation.settings import Settings
from moderation.submissions import SubmitOutcome, claim_undispatched, get_revision
from tests.integration.conftest import assessment_count
from workers.context import WorkerContext
from workers.dispatcher import dispatch_once
from workers.sweeper import sweep_once


def _submit_many(submit_message: Callable[..., SubmitOutcome], n: int) -> list[SubmitOutcome]:
    return [submit_message(text=f"Bonjour, toujours dispo ? réf {i}", external_id=f"d-{i}") for i in range(n)]


def test_claims_are_exclusive_and_oldest_first(
    submit_message: Callable[..., SubmitOutcome], session_factory: sessionmaker[Session]
) -> None:
    outcomes = _submit_many(submit_message, 5)
    with session_factory() as first, session_factory() as second:
        claimed = claim_undispatched(first, utcnow(), 3)
        first.commit()
        rest = claim_undispatched(second, utcnow(), 10)
        second.commit()
    assert claimed == [(o.submission_id, 1) for o in outcomes[:3]]
    assert rest == [(o.submission_id, 1) for o in outcomes[3:]]
    with session_factory() as session:
        assert claim_undispatched(session, utcnow(), 10) == []
        assert all(get_revision(session, sid, 1).attempts == 1 for sid, _ in claimed)  # type: ignore[union-attr]


def test_dispatched_batches_are_scored_once(
    worker_ctx: WorkerContext,
    settings: Settings,
    run_burst: Callable[[], bool],
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    outcomes = _submit_many(submit_message, 7)
    batched = dataclasses.replace(settings, dispatch="batched", dispatch_batch_size=3)
    assert dispatch_once(session_factory, worker_ctx.score_queue, batched) == 7
    assert worker_ctx.score_queue.count == 3  # 3 + 3 + 1
    assert dispatch_once(session_factory, worker_ctx.score_queue, batched) == 0  # nothing left to claim
    run_burst()
    assert [assessment_count(session_factory, o.submission_id) for o in outcomes] == [1] * 7


def test_sweeper_leaves_a_waiting_batch_and_recovers_a_lost_one(
    worker_ctx: WorkerContext,
    settings: Settings,
    run_burst: Callable[[], bool],
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    outcomes = _submit_many(submit_message, 4)
    batched = dataclasses.replace(settings, dispatch="batched", dispatch_batch_size=10)
    assert dispatch_once(session_factory, worker_ctx.score_queue, batched) == 4
    later = utcnow() + timedelta(seconds=settings.sweeper_stale_after_s + 1)
    # The batch job is still waiting in the queue: stale by time, but alive.
    assert sweep_once(session_factory, worker_ctx.score_queue, settings, now=later) == 0
    assert worker_ctx.score_queue.count == 1
    worker_ctx.score_queue.empty()  # Redis lost it
    even_later = later + timedelta(seconds=settings.sweeper_stale_after_s + 1)
    assert sweep_once(session_factory, worker_ctx.score_queue, settings, now=even_later) == 4
    run_burst()
    assert [assessment_count(session_factory, o.submission_id) for o in outcomes] == [1] * 4
