"""Idempotent submission on (kind, external_id), against a real database."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from moderation.errors import IdempotencyConflict
from moderation.models import AuditEvent, Submission, SubmissionRevision
from moderation.submissions import SubmissionContent, get_submission, submit, to_score_input
from scoring.types import Kind


def message(text: str = "Bonjour, toujours dispo ?", external_id: str = "m-1") -> SubmissionContent:
    return SubmissionContent(
        kind=Kind.MESSAGE,
        external_id=external_id,
        text=text,
        conversation_id="c-1",
        sender={"id": "u-1", "account_age_days": 2, "is_pro": False},
        recipient={"id": "u-2"},
        lang="fr",
    )


def listing(text: str, external_id: str = "l-1", price: float = 120.0) -> SubmissionContent:
    return SubmissionContent(
        kind=Kind.LISTING,
        external_id=external_id,
        text=text,
        title="Vélo de course",
        price=price,
        category="velos",
    )


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_new_message_is_queued_at_revision_1(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        outcome = submit(session, message(), actor="key:test")
        session.commit()
    assert outcome.created and outcome.revision == 1 and outcome.status == "queued"
    with session_factory() as session:
        view = get_submission(session, Kind.MESSAGE, outcome.submission_id)
        assert view is not None
        data = view.to_dict()
        assert data["external_id"] == "m-1" and data["status"] == "queued" and data["assessment"] is None
        assert (
            get_submission(session, Kind.LISTING, outcome.submission_id) is None
        )  # kind is part of identity
        actions = session.scalars(select(AuditEvent.action)).all()
        assert actions == ["submission.created"]


def test_same_body_replayed_returns_same_outcome_without_new_rows(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        first = submit(session, message(), actor="key:test")
        session.commit()
    with session_factory() as session:
        again = submit(session, message(), actor="key:test")
        session.commit()
        assert again.submission_id == first.submission_id
        assert again.revision == 1 and not again.created
        assert count(session, Submission) == 1 and count(session, SubmissionRevision) == 1


def test_message_with_different_body_conflicts(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        first = submit(session, message(), actor="key:test")
        session.commit()
    with session_factory() as session, pytest.raises(IdempotencyConflict) as info:
        submit(session, message(text="Autre texte"), actor="key:test")
    assert info.value.field == "external_id" and info.value.existing_id == first.submission_id


def test_edited_listing_gets_a_new_revision(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        first = submit(session, listing("Vélo en bon état"), actor="key:test")
        session.commit()
    with session_factory() as session:
        second = submit(session, listing("Vélo en bon état, pneus neufs", price=110.0), actor="key:test")
        replay = submit(session, listing("Vélo en bon état, pneus neufs", price=110.0), actor="key:test")
        session.commit()
    assert second.submission_id == first.submission_id and second.revision == 2 and second.created
    assert replay.revision == 2 and not replay.created
    with session_factory() as session:
        view = get_submission(session, Kind.LISTING, first.submission_id)
        assert view is not None and view.revision == 2
        assert count(session, SubmissionRevision) == 2


def test_same_external_id_in_two_kinds_is_two_submissions(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        a = submit(session, message(external_id="x-1"), actor="key:test")
        b = submit(session, listing("Table basse", external_id="x-1"), actor="key:test")
        session.commit()
    assert a.submission_id != b.submission_id


@pytest.mark.parametrize("kind", ["message", "listing"])
def test_concurrent_submits_of_one_external_id_create_one_submission(
    session_factory: sessionmaker[Session], kind: str
) -> None:
    content = message(external_id="race-1") if kind == "message" else listing("Canapé", external_id="race-1")
    barrier = threading.Barrier(4)
    outcomes = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with session_factory() as session:
                barrier.wait()
                outcomes.append(submit(session, content, actor="key:test"))
                session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len({o.submission_id for o in outcomes}) == 1
    assert sum(o.created for o in outcomes) == 1
    with session_factory() as session:
        assert count(session, Submission) == 1 and count(session, SubmissionRevision) == 1


def test_to_score_input_carries_the_stored_content(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        outcome = submit(session, message(text="Payez par virement"), actor="key:test")
        session.commit()
        rev = session.scalars(select(SubmissionRevision)).one()
        score_input = to_score_input(rev)
    assert score_input.id == outcome.submission_id
    assert score_input.kind is Kind.MESSAGE and score_input.text == "Payez par virement"
    assert score_input.sender is not None and score_input.sender.account_age_days == 2
    assert score_input.recipient_id == "u-2" and score_input.lang == "fr"
