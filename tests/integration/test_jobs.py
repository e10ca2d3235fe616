"""Scoring jobs through a real Redis and RQ worker: exactly one assessment per revision."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy.orm import Session, sessionmaker

from moderation.submissions import SubmitOutcome, get_revision, get_submission, to_score_input
from scoring.types import Kind, ScoreInput, ScoreResult
from tests.integration.conftest import assessment_count
from workers import jobs
from workers.context import WorkerContext
from workers.queues import enqueue_score, enqueue_score_batch, score_job_id
from workers.scoring import score_and_record


def test_enqueued_message_gets_scored_by_a_worker(
    worker_ctx: WorkerContext,
    run_burst: Callable[[], bool],
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    outcome = submit_message()
    assert enqueue_score(worker_ctx.score_queue, outcome.submission_id, outcome.revision)
    job = Job.fetch(
        score_job_id(outcome.submission_id, 1), connection=worker_ctx.redis, serializer=JSONSerializer
    )
    assert job.func_name == "workers.jobs.score_submission" and job.args == [outcome.submission_id, 1]
    assert run_burst()
    with session_factory() as session:
        view = get_submission(session, Kind.MESSAGE, outcome.submission_id)
        revision = get_revision(session, outcome.submission_id, 1)
        assert revision is not None
        expected = worker_ctx.scorer.score(to_score_input(revision))
    assert view is not None and view.status == "scored" and view.assessment is not None
    # The stored verdict is the scorer's verdict for the stored content, with its versions.
    assert view.assessment.verdict == expected.verdict.value
    assert abs(view.assessment.score - expected.score) < 1e-9
    assert view.assessment.categories == [c.value for c in expected.categories]
    assert (view.assessment.model_version, view.assessment.rules_version) == (
        expected.model_version,
        expected.rules_version,
    )


def test_job_run_twice_records_one_assessment(
    worker_ctx: WorkerContext,
    run_burst: Callable[[], bool],
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    outcome = submit_message()
    first = jobs.score_submission(outcome.submission_id, outcome.revision)
    second = jobs.score_submission(outcome.submission_id, outcome.revision)
    assert first["status"] == "scored" and second["status"] == "already_scored"
    # And once more through Redis, as a duplicate delivery would.
    enqueue_score(worker_ctx.score_queue, outcome.submission_id, outcome.revision)
    run_burst()
    assert assessment_count(session_factory, outcome.submission_id) == 1


class _RendezvousScorer:
    """The real scorer, but each call waits until both racers are inside `score` (after both
    have read the revision as `queued`), so the race on recording really happens."""

    def __init__(self, inner: object, parties: int) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(parties, timeout=20)

    def score(self, item: ScoreInput) -> ScoreResult:
        self.barrier.wait()
        return self.inner.score(item)  # type: ignore[attr-defined,no-any-return]

    def score_many(self, items: Sequence[ScoreInput]) -> list[ScoreResult]:
        self.barrier.wait()
        return self.inner.score_many(items)  # type: ignore[attr-defined,no-any-return]


def test_two_workers_racing_record_one_assessment(
    worker_ctx: WorkerContext,
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    outcome = submit_message()
    scorer = _RendezvousScorer(worker_ctx.scorer, parties=2)
    statuses: list[str] = []
    errors: list[BaseException] = []

    def race() -> None:
        try:
            statuses.append(score_and_record(session_factory, scorer, outcome.submission_id, 1).status)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(statuses) == ["already_scored", "scored"]
    assert assessment_count(session_factory, outcome.submission_id) == 1


def test_batch_job_scores_every_item_once(
    worker_ctx: WorkerContext,
    run_burst: Callable[[], bool],
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    outcomes = [
        submit_message(text=f"Bonjour, l'article n°{i} est-il toujours disponible ?", external_id=f"b-{i}")
        for i in range(5)
    ]
    jobs.score_submission(outcomes[0].submission_id, 1)  # one already done: the batch must skip it
    assert enqueue_score_batch(worker_ctx.score_queue, [(o.submission_id, o.revision) for o in outcomes])
    assert run_burst()
    for o in outcomes:
        assert assessment_count(session_factory, o.submission_id) == 1
        with session_factory() as session:
            rev = get_revision(session, o.submission_id, 1)
            assert rev is not None and rev.status == "scored"


def test_missing_revision_is_reported_not_retried(worker_ctx: WorkerContext) -> None:
    assert jobs.score_submission("0" * 32, 1) == {"status": "missing", "verdict": None}
