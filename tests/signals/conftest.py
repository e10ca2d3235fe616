"""Signals fixtures: the test's database and Redis, a controllable clock, helpers to submit
messages and decide them, and the block-list listener installed for one test only."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from moderation import blocklist, decisions
from moderation.settings import Settings
from moderation.submissions import SubmissionContent, submit
from scoring.types import Kind
from workers.signals import Signals

_ids = itertools.count(1)


class Clock:
    """A settable `time.time` stand-in (seconds since the epoch)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signal_settings(settings: Settings) -> Settings:
    """The test's settings with a campaign threshold of 10 recipients."""
    return dataclasses.replace(settings, campaign_min_recipients=10)


@pytest.fixture
def signals(signal_settings: Settings, redis_client: Any, clock: Clock) -> Signals:
    return Signals(signal_settings, redis_client, clock=clock)


@pytest.fixture
def submit_message(session_factory: sessionmaker[Session]) -> Callable[..., tuple[str, int]]:
    """Store a message (committed, nothing enqueued); returns (submission_id, revision)."""

    def _submit(
        text: str,
        sender: str = "seller-1",
        recipient: str = "buyer-1",
        conversation: str | None = None,
        account_age_days: float = 30.0,
    ) -> tuple[str, int]:
        n = next(_ids)
        with session_factory() as session:
            outcome = submit(
                session,
                SubmissionContent(
                    kind=Kind.MESSAGE,
                    external_id=f"sig-{n}",
                    text=text,
                    conversation_id=conversation or f"conv-{n}",
                    sender={"id": sender, "account_age_days": account_age_days},
                    recipient={"id": recipient},
                    lang="fr",
                ),
                actor="key:test",
            )
            session.commit()
        return outcome.submission_id, outcome.revision

    return _submit


@pytest.fixture
def installed_blocklist(signal_settings: Settings) -> Iterator[blocklist.BlocklistRecorder]:
    """The block-list listeners, removed after the test (the listener lists are process-global)."""
    recorder = blocklist.install(signal_settings.blocklist_ttl_days)
    yield recorder
    decisions.on_decision_listeners.remove(recorder.on_decision)
    decisions.on_undo_listeners.remove(recorder.on_undo)


# The API fixtures (app on the test's Settings, its client, keys) are shared with tests/api.
from tests.api.conftest import api_settings, app, make_app, make_key  # noqa: E402, F401
