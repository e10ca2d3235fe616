"""Fixtures for worker, sweeper and webhook tests: a worker context on the test's database and
Redis with the real scorer, and helpers to submit content and run a worker in burst mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from moderation.models import Assessment
from moderation.settings import Settings
from moderation.submissions import SubmissionContent, SubmitOutcome, submit
from scoring.types import Kind
from workers.context import WorkerContext, build_context, set_context
from workers.worker import make_worker

SCAM_TEXT = (
    "Bonjour, je suis intéressé. Je vous paie par PayPal entre amis, envoyez-moi votre e-mail "
    "ou écrivez-moi sur WhatsApp au 06 12 34 56 78, mon transporteur passera récupérer l'article."
)


@pytest.fixture
def worker_ctx(settings: Settings, scorer: object) -> Iterator[WorkerContext]:
    """The context a worker process would build, installed for jobs run in this process."""
    ctx = build_context(settings, scorer)  # type: ignore[arg-type]
    set_context(ctx)
    yield ctx
    set_context(None)
    ctx.engine.dispose()
    ctx.redis.close()


@pytest.fixture
def run_burst(worker_ctx: WorkerContext) -> Callable[[], bool]:
    """Run a SimpleWorker on the context's queues until they are empty; returns whether it worked."""

    def run() -> bool:
        return bool(make_worker(worker_ctx).work(burst=True, logging_level="WARNING"))

    return run


@pytest.fixture
def submit_message(session_factory: sessionmaker[Session]) -> Callable[..., SubmitOutcome]:
    """Store a message (committed) and return the outcome; nothing is enqueued."""

    def _submit(text: str = SCAM_TEXT, external_id: str = "msg-1") -> SubmitOutcome:
        with session_factory() as session:
            outcome = submit(
                session,
                SubmissionContent(
                    kind=Kind.MESSAGE,
                    external_id=external_id,
                    text=text,
                    conversation_id="conv-1",
                    sender={"id": "seller-9", "account_age_days": 1},
                    recipient={"id": "buyer-1"},
                    lang="fr",
                ),
                actor="key:test",
            )
            session.commit()
        return outcome

    return _submit


def assessment_count(session_factory: sessionmaker[Session], submission_id: str) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).where(Assessment.submission_id == submission_id)) or 0
