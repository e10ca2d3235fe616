"""Privacy: personal data is masked in logs (a request and a job), and `vigie purge` erases it
from old content while verdicts, reason codes and categories stay."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api import create_app
from api.cli import main as cli
from moderation.clock import utcnow
from moderation.keys import create_key
from moderation.models import Assessment, SubmissionRevision, WebhookEvent
from moderation.redaction import redact
from moderation.retention import PURGED, parse_age, purge_older_than
from moderation.settings import Settings
from moderation.submissions import SubmissionContent, submit
from scoring.types import Kind, ScoreInput, ScoreResult
from workers.queues import enqueue_score, score_queue
from workers.scoring import score_and_record
from workers.worker import run_worker

PHONE, EMAIL, IBAN = "06 12 34 56 78", "jean.dupont.achat@gmail.com", "FR76 3000 6000 0112 3456 7890 189"
PII_TEXT = f"Payez par virement sur {IBAN}, appelez le {PHONE} ou écrivez à {EMAIL}"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("au 06 12 34 56 78 ou +33 6 12 34 56 78 ou 0033612345678", "au [phone] ou [phone] ou [phone]"),
        ("06.12.34.56.78 / +44 20 7946 0958", "[phone] / [phone]"),
        ("mail: jean.dupont+lbc@free.fr.", "mail: [email]."),
        ("IBAN FR7630006000011234567890189 ok", "IBAN [iban] ok"),
        ("carte 4111 1111 1111 1111 exp", "carte [card] exp"),
        (
            "Authorization: Bearer vg_0a1b2c3d_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "Authorization: [key]",
        ),
    ],
)
def test_redact_masks_personal_data(raw: str, masked: str) -> None:
    assert redact(raw) == masked


@pytest.mark.parametrize(
    "kept",
    [
        "scored submission=3f2a0612345678abcdef0123456789ab revision=1 ms=12.5",
        "batch of 100 in 1718000000000 ns",  # not Luhn-valid: not a card
        "HTTP 503 after 3 attempts",
    ],
)
def test_redact_leaves_operational_text_alone(kept: str) -> None:
    assert redact(kept) == kept


def _assert_masked(text: str) -> None:
    assert "[phone]" in text and "[email]" in text and "[iban]" in text, text
    for secret in (PHONE, EMAIL, IBAN, "0612345678", "gmail.com"):
        assert secret not in text


def test_request_logs_are_redacted(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(dataclasses.replace(settings, rate_limit_per_minute=0))
    app.config["TESTING"] = True
    leaky = logging.getLogger("tests.hostile.leaky_view")

    @app.before_request
    def careless_debug_log() -> None:
        # What a careless debugging line would do: log the raw body, with %-style arguments.
        leaky.warning("incoming body: %s", request.get_data(as_text=True))

    with app.extensions["vigie"].session_factory() as session:
        _, key = create_key(session, "privacy", {"submit"})
        session.commit()
    caplog.set_level(logging.INFO)
    try:
        response = app.test_client().post(
            "/v1/messages",
            json={"external_id": "pii-1", "conversation_id": "c", "text": PII_TEXT},
            headers={"Authorization": f"Bearer {key}"},
        )
    finally:
        app.extensions["vigie"].close()
    assert response.status_code == 202
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == leaky.name)
    _assert_masked(logged)
    assert key not in caplog.text


class _LoggingScorer:
    """The real scorer behind a careless debug log of the input and an exception quoting it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.log = logging.getLogger("tests.hostile.leaky_scorer")

    def score(self, item: ScoreInput, *context: Any) -> ScoreResult:
        self.log.warning("scoring %r", item.text)
        try:
            raise ValueError(f"cannot parse {item.text}")
        except ValueError:
            self.log.exception("parse failed")
        return self.inner.score(item, *context)

    def score_many(self, items: Sequence[ScoreInput], *contexts: Any) -> list[ScoreResult]:
        return self.inner.score_many(items, *contexts)


def test_job_logs_are_redacted(
    settings: Settings,
    session_factory: sessionmaker[Session],
    scorer: Any,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with session_factory() as session:
        outcome = submit(
            session, SubmissionContent(kind=Kind.MESSAGE, external_id="pii-job", text=PII_TEXT), "test"
        )
        session.commit()
    from workers.queues import make_redis

    redis = make_redis(settings.redis_url)
    assert enqueue_score(score_queue(redis, settings), outcome.submission_id, outcome.revision)
    redis.close()
    caplog.set_level(logging.INFO)
    root = logging.getLogger()
    handlers_before = list(root.handlers)
    try:
        assert run_worker(settings, burst=True, scorer=_LoggingScorer(scorer))
    finally:
        # The worker's stderr handler is bound to this test's captured stream: do not leak it.
        for handler in set(root.handlers) - set(handlers_before):
            root.removeHandler(handler)
    records = [r for r in caplog.records if r.name == "tests.hostile.leaky_scorer"]
    assert len(records) == 2
    _assert_masked("\n".join(r.getMessage() for r in records))
    # The traceback quotes the exception message: it is masked too, in what the worker wrote.
    stderr = capfd.readouterr().err
    assert "cannot parse" in stderr
    _assert_masked(stderr)


def _scored_message(
    session_factory: sessionmaker[Session], scorer: Any, external_id: str, *, score: bool = True
) -> str:
    content = SubmissionContent(
        kind=Kind.MESSAGE,
        external_id=external_id,
        text=PII_TEXT + " PayPal entre amis, WhatsApp",
        conversation_id="conv-p",
        sender={"id": "seller-1", "email": EMAIL, "siret": "73282932000074", "account_age_days": 2},
        recipient={"id": "buyer-1"},
        lang="fr",
    )
    with session_factory() as session:
        outcome = submit(session, content, "test")
        session.commit()
    if score:
        assert score_and_record(session_factory, scorer, outcome.submission_id, 1).status == "scored"
    return outcome.submission_id


def test_purge_erases_personal_data_and_keeps_verdicts(
    session_factory: sessionmaker[Session], scorer: Any
) -> None:
    old = _scored_message(session_factory, scorer, "old-1")
    pending = _scored_message(session_factory, scorer, "old-queued", score=False)
    with session_factory() as session:
        before = session.scalars(select(Assessment).where(Assessment.submission_id == old)).one()
        verdict, codes = before.verdict, [(r["code"], r["category"]) for r in before.reasons]
    assert verdict != "allow" and codes

    with session_factory() as session:
        report = purge_older_than(session, timedelta(days=30), now=utcnow() + timedelta(days=31))
    assert report.revisions == 1  # the queued one waits for its verdict first

    with session_factory() as session:
        rev = session.scalars(select(SubmissionRevision).where(SubmissionRevision.submission_id == old)).one()
        assert rev.text == "" and rev.title is None
        flat = repr(rev.payload)
        assert EMAIL not in flat and "73282932000074" not in flat and "PayPal" not in flat
        assert rev.payload["sender"] == {"id": "seller-1", "account_age_days": 2}
        after = session.scalars(select(Assessment).where(Assessment.submission_id == old)).one()
        assert after.verdict == verdict and after.score == before.score
        assert [(r["code"], r["category"]) for r in after.reasons] == codes
        assert {r["evidence"] for r in after.reasons} == {PURGED}
        for event in session.scalars(select(WebhookEvent).where(WebhookEvent.subject_id == old)):
            assert PHONE not in repr(event.payload) and EMAIL not in repr(event.payload)
            assert event.payload["data"]["verdict"] == verdict
        queued = session.scalars(
            select(SubmissionRevision).where(SubmissionRevision.submission_id == pending)
        ).one()
        assert IBAN in queued.text

    with session_factory() as session:  # idempotent
        assert purge_older_than(session, timedelta(days=30), now=utcnow() + timedelta(days=31)).revisions == 0


def test_purge_keeps_recent_content(session_factory: sessionmaker[Session], scorer: Any) -> None:
    recent = _scored_message(session_factory, scorer, "recent-1")
    with session_factory() as session:
        assert purge_older_than(session, timedelta(days=30)).revisions == 0
        rev = session.scalars(
            select(SubmissionRevision).where(SubmissionRevision.submission_id == recent)
        ).one()
        assert PHONE in rev.text


def test_purge_cli(settings: Settings, session_factory: sessionmaker[Session], scorer: Any) -> None:
    _scored_message(session_factory, scorer, "cli-1")
    env = {"VIGIE_DATABASE_URL": settings.effective_database_url, "VIGIE_DATA_DIR": str(settings.data_dir)}
    runner = CliRunner()
    kept = runner.invoke(cli, ["purge", "--older-than", "30d"], env=env)
    assert kept.exit_code == 0, kept.output
    assert "nothing to purge" in kept.output
    purged = runner.invoke(cli, ["purge", "--older-than", "0s"], env=env)
    assert purged.exit_code == 0, purged.output
    assert "revisions=1" in purged.output
    bad = runner.invoke(cli, ["purge", "--older-than", "soon"], env=env)
    assert bad.exit_code != 0 and "not an age" in bad.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("7", timedelta(days=7))],
)
def test_parse_age(text: str, expected: timedelta) -> None:
    assert parse_age(text) == expected
