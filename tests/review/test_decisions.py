"""Decisions, labels, audit, the decision webhook event, undo and appeals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moderation import decisions, review
from moderation.clock import utcnow
from moderation.decisions import InvalidDecision, UndoExpired, appeal, decide, undo
from moderation.models import AuditEvent, WebhookEvent
from moderation.review import ClaimConflict, NotPermitted, StateConflict, VersionConflict
from moderation.review_models import Decision, Label, Moderator, ReviewItem

LEASE = timedelta(minutes=5)
WINDOW = timedelta(minutes=5)
StoreMessage = Callable[..., str]
MakeModerator = Callable[..., Moderator]


def item_id_of(session: Session, submission_id: str) -> str:
    return session.scalars(select(ReviewItem.id).where(ReviewItem.submission_id == submission_id)).one()


@pytest.fixture
def seen() -> Iterator[list[tuple[str, int]]]:
    calls: list[tuple[str, int]] = []

    def listener(session: Session, decision: Decision) -> None:
        assert session.get(Decision, decision.id) is decision  # same transaction, row visible
        calls.append((decision.decision, decision.id))

    decisions.register_decision_listener(listener)
    yield calls
    decisions.on_decision_listeners.remove(listener)


def test_confirm_scam_writes_decision_label_audit_webhook_and_calls_listeners(
    store_message: StoreMessage,
    make_moderator: MakeModerator,
    session_factory: sessionmaker[Session],
    seen: list[tuple[str, int]],
) -> None:
    sid = store_message(verdict="hold")
    alice = make_moderator()
    now = utcnow()
    with session_factory() as session:
        item_id = item_id_of(session, sid)
        version = review.claim(session, item_id, alice, now, LEASE).version
        row = decide(session, item_id, alice, "confirm_scam", "external_payment", now,
                     expected_version=version, suspend_sender=True)  # fmt: skip
        session.commit()
        item = review.get_item(session, item_id)
        label = session.scalars(select(Label).where(Label.decision_id == row.id)).one()
        audit_row = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "decision.created", AuditEvent.subject_id == sid)
        ).one()
        event = session.scalars(
            select(WebhookEvent).where(WebhookEvent.event_type == "decision.created")
        ).one()
    assert (item.status, item.claimed_by, item.last_decision_id) == ("decided", None, row.id)
    assert row.actions == {"remove_content": True, "warn_recipient": True, "suspend_sender": True}
    assert (label.submission_id, label.revision, label.label, label.moderator_id) == (
        sid,
        1,
        "scam",
        alice.id,
    )
    assert audit_row.actor == f"moderator:{alice.id}"
    assert audit_row.data["before"]["status"] == "open" and audit_row.data["after"]["status"] == "decided"
    assert audit_row.data["reason"] == "external_payment"
    data = event.payload["data"]
    assert (data["decision"], data["submission_id"], data["item_id"]) == ("confirm_scam", sid, item_id)
    assert data["reason_text"]["en"] == "Off-platform payment requested"
    assert seen == [("confirm_scam", row.id)]


def test_not_scam_releases_a_held_message_and_labels_it(
    store_message: StoreMessage, make_moderator: MakeModerator, session_factory: sessionmaker[Session]
) -> None:
    held, reviewed = store_message(verdict="hold"), store_message(verdict="review")
    alice = make_moderator()
    with session_factory() as session:
        a = decide(session, item_id_of(session, held), alice, "not_scam", "legitimate", utcnow())
        b = decide(session, item_id_of(session, reviewed), alice, "not_scam", "legitimate", utcnow())
        session.commit()
        labels = session.scalars(select(Label.label)).all()
    assert a.actions == {"release_message": True, "clear_warning": True}
    assert b.actions["release_message"] is False
    assert labels == ["not_scam", "not_scam"]


def test_needs_info_parks_the_item_without_a_label_and_a_report_reopens_it(
    store_message: StoreMessage, make_moderator: MakeModerator, session_factory: sessionmaker[Session]
) -> None:
    sid = store_message()
    alice = make_moderator()
    with session_factory() as session:
        item_id = item_id_of(session, sid)
        decide(session, item_id, alice, "needs_info", "ask_sender", utcnow())
        session.commit()
        assert review.get_item(session, item_id).status == "needs_info"
        assert session.scalars(select(Label)).all() == []
        review.open_or_bump_item(session, sid, 1, "report", 1.0, utcnow())
        session.commit()
        assert review.get_item(session, item_id).status == "open"


def test_bad_codes_and_stale_versions_are_refused(
    store_message: StoreMessage, make_moderator: MakeModerator, session_factory: sessionmaker[Session]
) -> None:
    sid = store_message()
    alice, bob = make_moderator(), make_moderator()
    now = utcnow()
    with session_factory() as session:
        item_id = item_id_of(session, sid)
        version = review.get_item(session, item_id).version
        with pytest.raises(InvalidDecision) as bad:
            decide(session, item_id, alice, "confirm_scam", "legitimate", now)
        assert bad.value.field == "reason"
        with pytest.raises(InvalidDecision):
            decide(session, item_id, alice, "delete_everything", "legitimate", now)
        review.open_or_bump_item(session, sid, 1, "report", 1.0, now)  # the item changes under Alice
        session.commit()
        with pytest.raises(VersionConflict) as stale:
            decide(session, item_id, alice, "not_scam", "legitimate", now, expected_version=version)
        assert stale.value.current == version + 1
        session.rollback()
        review.claim(session, item_id, bob, now, LEASE)
        session.commit()
        with pytest.raises(ClaimConflict):
            decide(session, item_id, alice, "not_scam", "legitimate", now)
        session.rollback()
        decide(session, item_id, bob, "not_scam", "legitimate", now)
        session.commit()
        with pytest.raises(StateConflict):
            decide(session, item_id, bob, "confirm_scam", "phishing", now)
        assert session.scalars(select(Decision)).all().__len__() == 1


def test_undo_within_the_window_reopens_and_retracts_the_label(
    store_message: StoreMessage, make_moderator: MakeModerator, session_factory: sessionmaker[Session]
) -> None:
    sid = store_message()
    alice, bob = make_moderator(), make_moderator()
    t0 = utcnow()
    with session_factory() as session:
        item_id = item_id_of(session, sid)
        row = decide(session, item_id, alice, "confirm_scam", "phishing", t0)
        session.commit()
        with pytest.raises(NotPermitted):
            undo(session, row.id, bob, t0 + timedelta(minutes=1), WINDOW)
        item = undo(session, row.id, alice, t0 + timedelta(minutes=1), WINDOW)
        session.commit()
        assert (item.status, item.claimed_by, item.last_decision_id) == ("open", alice.id, None)
        label = session.scalars(select(Label)).one()
        assert label.retracted_at is not None
        types = session.scalars(
            select(WebhookEvent.event_type)
            .where(WebhookEvent.event_type.like("decision.%"))
            .order_by(WebhookEvent.created_at)
        ).all()
        assert types == ["decision.created", "decision.undone"]
        with pytest.raises(UndoExpired):
            undo(session, row.id, alice, t0 + timedelta(minutes=2), WINDOW)  # already undone
        again = decide(session, item_id, alice, "not_scam", "legitimate", t0 + timedelta(minutes=2))
        session.commit()
        with pytest.raises(UndoExpired):
            undo(session, again.id, alice, t0 + timedelta(minutes=8), WINDOW)


def test_appeal_is_decided_by_a_different_moderator_with_a_statement(
    store_message: StoreMessage, make_moderator: MakeModerator, session_factory: sessionmaker[Session]
) -> None:
    sid = store_message()
    alice, bob = make_moderator(), make_moderator()
    now = utcnow()
    with session_factory() as session:
        item_id = item_id_of(session, sid)
        first = decide(session, item_id, alice, "not_scam", "legitimate", now)
        session.commit()
        with pytest.raises(StateConflict):
            appeal(session, item_id, "Je suis honnête", "key:platform", now)  # nothing to contest
        undo(session, first.id, alice, now, WINDOW)
        decide(session, item_id, alice, "confirm_scam", "external_payment", now)
        session.commit()
        item = appeal(
            session, item_id, "Je suis un vrai vendeur, PayPal est mon seul moyen.", "key:platform", now
        )
        session.commit()
        assert item.status == "open" and item.appeal_excluded_moderator == alice.id
        assert item.due_at - now == review.SLA_APPEAL
        with pytest.raises(NotPermitted):
            review.claim(session, item_id, alice, now, LEASE)
        session.rollback()
        with pytest.raises(NotPermitted):
            decide(session, item_id, alice, "not_scam", "legitimate", now)
        session.rollback()
        verdict = decide(session, item_id, bob, "not_scam", "professional_seller", now)
        session.commit()
        with pytest.raises(StateConflict):
            appeal(session, item_id, "encore", "key:platform", now)
        events = session.scalars(
            select(WebhookEvent).where(WebhookEvent.event_type == "decision.created")
        ).all()
        event = next(e for e in events if e.payload["data"]["decision_id"] == verdict.id)
    assert verdict.on_appeal and verdict.statement == "Vendeur professionnel identifié"
    assert event.payload["data"]["appeal"] == {
        "outcome": "overturned",
        "statement": "Vendeur professionnel identifié",
    }
