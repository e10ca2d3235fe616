"""Review fixtures: stored submissions with a given assessment, and moderator accounts."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from moderation.assessments import record_assessment
from moderation.clock import utcnow
from moderation.moderators import create_moderator
from moderation.review_models import Moderator
from moderation.submissions import SubmissionContent, submit
from scoring.types import Category, Kind, Reason, ScoreResult, Verdict

SCAM_TEXT = "Je paie par PayPal entre amis, écrivez-moi sur WhatsApp au 06 12 34 56 78."
PASSWORD = "correct horse battery"
_ids = itertools.count(1)


def result_for(
    submission_id: str,
    verdict: str = "review",
    score: float = 0.8,
    categories: tuple[str, ...] = ("external_payment",),
) -> ScoreResult:
    """A ScoreResult as the scorer would produce it, with one reason per category."""
    cats = tuple(Category(c) for c in categories)
    reasons = tuple(
        Reason(code=f"test.{c.value}", category=c, weight=0.5, evidence="PayPal entre amis", span=(12, 29))
        for c in cats
    )
    return ScoreResult(submission_id, score, Verdict(verdict), cats, reasons, "model-test", "rules-test")


@pytest.fixture
def store_message(session_factory: sessionmaker[Session]) -> Callable[..., str]:
    """Store a message and (unless verdict is None) its assessment; returns the submission id."""

    def store(
        text: str = SCAM_TEXT,
        verdict: str | None = "review",
        score: float = 0.8,
        categories: tuple[str, ...] = ("external_payment",),
        sender: dict[str, Any] | None = None,
        conversation_id: str = "conv-1",
        lang: str = "fr",
    ) -> str:
        with session_factory() as session:
            outcome = submit(
                session,
                SubmissionContent(
                    kind=Kind.MESSAGE,
                    external_id=f"msg-{next(_ids)}",
                    text=text,
                    conversation_id=conversation_id,
                    sender=sender if sender is not None else {"id": "seller-9", "account_age_days": 30},
                    recipient={"id": "buyer-1"},
                    lang=lang,
                ),
                actor="key:test",
            )
            if verdict is not None:
                record_assessment(
                    session,
                    outcome.submission_id,
                    outcome.revision,
                    result_for(outcome.submission_id, verdict, score, categories),
                    1.0,
                )
            session.commit()
        return outcome.submission_id

    return store


@pytest.fixture
def make_moderator(session_factory: sessionmaker[Session]) -> Callable[..., Moderator]:
    """Create a moderator (password PASSWORD); returns the row (detached, readable)."""

    def make(email: str | None = None, senior: bool = False) -> Moderator:
        with session_factory() as session:
            moderator, _key = create_moderator(
                session, email or f"mod{next(_ids)}@example.org", "Modo", PASSWORD, senior=senior
            )
            session.commit()
        return moderator

    return make


def now() -> datetime:
    return utcnow()


# The API fixtures (app on the test's Settings, its client, keys) are shared with tests/api.
from tests.api.conftest import api_settings, app, client, make_app, make_key  # noqa: E402, F401


@pytest.fixture
def moderator_login(
    session_factory: sessionmaker[Session],
) -> Callable[..., tuple[Moderator, dict[str, str]]]:
    """Create a moderator; returns it with the Authorization header of its API key."""

    def make(senior: bool = False, email: str | None = None) -> tuple[Moderator, dict[str, str]]:
        with session_factory() as session:
            moderator, key = create_moderator(
                session, email or f"mod{next(_ids)}@example.org", "Modo", PASSWORD, senior=senior
            )
            session.commit()
        return moderator, {"Authorization": f"Bearer {key}"}

    return make
