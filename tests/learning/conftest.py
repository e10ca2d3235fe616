"""Learning-loop fixtures (rule packs, models, shadow mode, backtests, quality): the shared
database/Redis/settings fixtures of tests/conftest.py, plus the worker fixtures of
tests/integration and the API fixtures of tests/api, re-exported so tests here can use both.

Keep this file generic: fixtures specific to one feature belong in that feature's test module."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import (  # noqa: F401 - fixtures
    api_settings,
    app,
    bearer,
    client,
    make_app,
    make_key,
    message_body,
    submitter,
    unused_redis_url,
)
from tests.integration.conftest import (  # noqa: F401 - fixtures
    SCAM_TEXT,
    assessment_count,
    run_burst,
    submit_message,
    worker_ctx,
)

# --- candidates and labels (shadow mode, backtests) -------------------------------------------------

CANDIDATE_PHRASE = "parapluie violet"


def write_candidate_rules(path: Path) -> Path:
    """The shipped rule pack plus one rule: the phrase CANDIDATE_PHRASE is an advance-fee scam
    (weight 0.95: alone it makes a hold), under its own version. Everything else is unchanged."""
    source = (Path(__file__).resolve().parents[2] / "scoring" / "rules" / "default.toml").read_text()
    source = source.replace('version = "2025.4"', 'version = "2025.4-candidate"', 1)
    source = source.replace("[lexicon]\n", f'[lexicon]\ncandidate_phrase = ["{CANDIDATE_PHRASE}"]\n', 1)
    source += (
        '\n[[rule]]\ncode = "test.candidate_phrase"\ncategory = "advance_fee"\nweight = 0.95\n'
        'all = ["candidate_phrase"]\n'
    )
    path.write_text(source, encoding="utf-8")
    return path


@pytest.fixture
def candidate_rules(tmp_path: Path) -> Path:
    return write_candidate_rules(tmp_path / "candidate.toml")


@pytest.fixture
def give_label(session_factory: sessionmaker[Session]) -> Callable[[str, int, str], None]:
    """Label a revision the way moderators do: open (or reuse) its review item and decide it."""
    from moderation.clock import utcnow
    from moderation.decisions import CONFIRM_SCAM, NOT_SCAM, decide
    from moderation.moderators import create_moderator
    from moderation.review import open_or_bump_item
    from moderation.review_models import Moderator

    moderator_ids: list[object] = []

    def label(submission_id: str, revision: int, value: str) -> None:
        with session_factory() as session:
            if not moderator_ids:
                moderator, _key = create_moderator(session, "labeller@example.org", "Labeller", "x" * 16)
                session.commit()
                moderator_ids.append(moderator.id)
            moderator = session.get(Moderator, moderator_ids[0])
            assert moderator is not None
            item = open_or_bump_item(session, submission_id, revision, "report", 1.0, utcnow())
            decision, reason = (CONFIRM_SCAM, "other_scam") if value == "scam" else (NOT_SCAM, "legitimate")
            decide(session, item.id, moderator, decision, reason, utcnow(), emit_webhook=False)
            session.commit()

    return label
