"""API keys (hash only at rest, constant-time check, revocation) and exactly-once assessments."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from moderation.assessments import record_assessment
from moderation.errors import InvalidScopes, NotFound
from moderation.keys import authenticate, create_key, list_keys, revoke_key
from moderation.models import ApiKey, Assessment, AuditEvent, WebhookEvent
from moderation.submissions import SubmissionContent, get_submission, submit
from scoring.types import Category, Kind, Reason, ScoreResult, Verdict


def test_key_roundtrip_and_revocation(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        row, plaintext = create_key(session, "messaging", {"submit", "read"})
        session.commit()
        assert plaintext.startswith(f"vg_{row.prefix}_") and len(plaintext.split("_", 2)[2]) == 43
        stored = session.scalars(select(ApiKey)).one()
        assert plaintext not in (stored.key_hash, stored.scopes, stored.prefix)  # only a hash at rest
    with session_factory() as session:
        principal = authenticate(session, plaintext)
        assert principal is not None and principal.name == "messaging"
        assert principal.scopes == frozenset({"submit", "read"}) and principal.has("read")
        assert not principal.has("admin")
        assert authenticate(session, plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
        assert authenticate(session, "vg_nothere_" + "x" * 43) is None
        assert authenticate(session, "not a key") is None
        session.commit()
    with session_factory() as session:
        revoke_key(session, row.prefix)
        session.commit()
        assert authenticate(session, plaintext) is None
        assert [k.revoked_at is not None for k in list_keys(session)] == [True]
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["api_key.created", "api_key.revoked"]
        with pytest.raises(NotFound):
            revoke_key(session, "ffffffff")
        with pytest.raises(InvalidScopes):
            create_key(session, "x", {"submit", "superuser"})


def result(submission_id: str, verdict: Verdict = Verdict.REVIEW) -> ScoreResult:
    reason = Reason(
        code="payment.paypal_friends",
        category=Category.EXTERNAL_PAYMENT,
        weight=0.8,
        evidence="PayPal entre amis",
        span=(10, 27),
    )
    return ScoreResult(
        id=submission_id,
        score=0.83,
        verdict=verdict,
        categories=(Category.EXTERNAL_PAYMENT,),
        reasons=(reason,),
        model_version="m-test",
        rules_version="r-test",
    )


def test_one_assessment_per_revision(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        outcome = submit(
            session, SubmissionContent(kind=Kind.MESSAGE, external_id="m-9", text="payez-moi"), actor="key:t"
        )
        session.commit()
    sid = outcome.submission_id
    with session_factory() as session:
        assert record_assessment(session, sid, 1, result(sid), duration_ms=1.5) is True
        session.commit()
    with session_factory() as session:
        assert record_assessment(session, sid, 1, result(sid, Verdict.ALLOW), duration_ms=1.0) is False
        session.commit()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 1
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 1
        view = get_submission(session, Kind.MESSAGE, sid)
        assert view is not None and view.status == "scored" and view.assessment is not None
        data = view.to_dict()["assessment"]
        assert data["verdict"] == "review" and data["categories"] == ["external_payment"]
        assert data["reasons"][0]["span"] == [10, 27] and data["model_version"] == "m-test"
        event = session.scalars(select(WebhookEvent)).one()
        assert event.event_type == "assessment.created" and event.payload["data"]["verdict"] == "review"
