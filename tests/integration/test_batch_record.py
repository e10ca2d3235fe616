"""The batch recording path (`record_assessments`) against the per-item one (`record_assessment`):
the same rows for the same verdicts, exactly once under repeats and races, a constant number of
statements per batch, and the worker's item-by-item fallback when a row vanishes mid-batch."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, func, select
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from moderation import review
from moderation.assessments import record_assessment, record_assessments
from moderation.clock import utcnow
from moderation.models import Assessment, AuditEvent, Submission, SubmissionRevision, WebhookEvent
from moderation.review_models import ReviewItem
from moderation.submissions import SubmissionContent, submit
from moderation.user_models import SafetyWarning
from scoring.extract import luhn_is_valid
from scoring.types import Category, Kind, Reason, ScoreInput, ScoreResult, Verdict
from workers.scoring import score_and_record_many

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from traffic import message

Item = tuple[str, int, ScoreResult, float]
# Columns whose value depends on when or under which random id a row was written, not on what.
VOLATILE = {"id", "item_id", "created_at", "updated_at", "opened_at", "at", "assessed_at", "next_attempt_at"}
VOLATILE |= {"sort_key", "due_at", "duration_ms"}
TABLES: list[type[DeclarativeBase]] = [Assessment, ReviewItem, SafetyWarning, WebhookEvent, AuditEvent]


def pro_siret() -> str:
    return next(s for s in (f"7328293200{n:04d}" for n in range(10_000)) if luhn_is_valid(s))


def contents(tag: str) -> list[SubmissionContent]:
    """Synthetic traffic plus the cases with their own rules: a verified pro, a listing."""
    out = []
    for i in range(24):
        body = message(i, tag, with_parties=True)
        out.append(
            SubmissionContent(
                kind=Kind.MESSAGE,
                external_id=body["external_id"],
                text=body["text"],
                conversation_id=body["conversation_id"],
                sender=body["sender"],
                recipient={**body["recipient"], "locale": "en" if i % 5 == 0 else "fr"},
                lang="fr",
            )
        )
    out.append(
        SubmissionContent(
            kind=Kind.MESSAGE,
            external_id=f"{tag}-pro",
            text="Réglez la facture via https://leboncoin-securise.example/pay, virement accepté.",
            conversation_id="conv-pro",
            sender={"id": "pro-1", "is_pro": True, "siret": pro_siret(), "account_age_days": 900},
            recipient={"id": "buyer-2"},
            lang="fr",
        )
    )
    out.append(
        SubmissionContent(
            kind=Kind.LISTING,
            external_id=f"{tag}-listing",
            text="iPhone 15 neuf, paiement par virement uniquement, envoi après réception des fonds.",
            title="iPhone 15",
            price=150.0,
            sender={"id": "seller-3", "account_age_days": 1},
            lang="fr",
        )
    )
    return out


def hand_results(sid_pro: str, sid_listing: str) -> list[ScoreResult]:
    spoof = Reason(
        "url.lookalike",
        Category.SPOOFED_DOMAIN,
        0.9,
        "leboncoin-securise.example",
        (20, 46),
        detail={"domain": "leboncoin-securise.example"},
    )
    transfer = Reason("payment.transfer", Category.EXTERNAL_PAYMENT, 0.6, "virement", (60, 68))
    return [
        ScoreResult(
            sid_pro,
            0.55,
            Verdict.WARN,
            (Category.SPOOFED_DOMAIN, Category.EXTERNAL_PAYMENT),
            (spoof, transfer),
            "m",
            "r",
        ),
        ScoreResult(sid_listing, 0.8, Verdict.REVIEW, (Category.EXTERNAL_PAYMENT,), (transfer,), "m", "r"),
    ]


def store(session_factory: sessionmaker[Session], tag: str, scorer: Any) -> list[Item]:
    """Store the submissions, score them with the shipped scorer (hand-made results for the pro and
    the listing), and open a review item from a user report on the first message the scorer sends
    to review (so that its verdict takes the bump path)."""
    with session_factory() as session:
        outcomes = [submit(session, c, actor="key:test") for c in contents(tag)]
        session.commit()
    texts = [
        ScoreInput(id=o.submission_id, kind=Kind.MESSAGE, text=c.text, lang="fr")
        for o, c in zip(outcomes, contents(tag), strict=True)
    ]
    results = scorer.score_many(texts[:24]) + hand_results(
        outcomes[24].submission_id, outcomes[25].submission_id
    )
    reported = next(r.id for r in results if r.verdict in {Verdict.REVIEW, Verdict.HOLD})
    with session_factory() as session:
        review.open_or_bump_item(session, reported, 1, "report", 1.0, utcnow())
        session.commit()
    return [(o.submission_id, o.revision, r, 1.0) for o, r in zip(outcomes, results, strict=True)]


def normalized(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: normalized(v, names) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [normalized(v, names) for v in value]
    if isinstance(value, str):
        return names.get(value, value)
    return value


def snapshot(session: Session, items: Sequence[Item], tag: str) -> dict[str, list[Any]]:
    """Every row the recording wrote, per table, with this set's ids replaced by positions."""
    sids = [sid for sid, _, _, _ in items]
    names = {sid: f"S{i}" for i, sid in enumerate(sids)}
    for sub in session.scalars(select(Submission).where(Submission.id.in_(sids))):
        names[sub.external_id] = sub.external_id.replace(tag, "T")
    out: dict[str, list[Any]] = {}
    for model in TABLES:
        table: Any = model.__table__
        column = table.c.subject_id if "subject_id" in table.c else table.c.submission_id
        rows = session.execute(select(table).where(column.in_(sids)).order_by(table.c.id)).mappings()
        normal = [normalized(dict(row), names) for row in rows]
        # Audit ids are sequential: keep each subject's events in the order they were written.
        # Other ids are random: compare those rows as sets.
        if model is AuditEvent:
            out[table.name] = sorted(normal, key=lambda r: str(r["subject_id"]))
        else:
            out[table.name] = sorted(normal, key=repr)
    statuses = session.execute(
        select(SubmissionRevision.submission_id, SubmissionRevision.status).where(
            SubmissionRevision.submission_id.in_(sids)
        )
    )
    out["statuses"] = sorted((names[sid], status) for sid, status in statuses)
    return out


def test_batch_writes_the_same_rows_as_the_per_item_path(
    session_factory: sessionmaker[Session], scorer: Any
) -> None:
    one_by_one = store(session_factory, "single", scorer)
    batched = store(session_factory, "batch", scorer)
    verdicts = {r.verdict for _, _, r, _ in one_by_one}
    assert {Verdict.ALLOW, Verdict.WARN, Verdict.REVIEW} <= verdicts, verdicts  # the mix this test is about
    with session_factory() as session:
        for sid, rev, result, ms in one_by_one:
            assert record_assessment(session, sid, rev, result, ms) is True
        session.commit()
    with session_factory() as session:
        recorded = record_assessments(session, batched)
        session.commit()
    assert [(r.submission_id, r.revision) for r in recorded] == [(sid, rev) for sid, rev, _, _ in batched]
    assert all(r.event_id for r in recorded)
    with session_factory() as session:
        expected, got = snapshot(session, one_by_one, "single"), snapshot(session, batched, "batch")
    assert got["safety_warnings"] and got["review_items"] and got["webhook_events"]  # not vacuous
    assert any(w["sender_type"] == "pro" for w in got["safety_warnings"])
    assert any(r["report_count"] == 1 and r["verdict"] for r in got["review_items"])  # the bumped item
    for name in expected:
        assert got[name] == expected[name], name


def fresh_items(
    session_factory: sessionmaker[Session], n: int, tag: str, verdict: str = "hold"
) -> list[Item]:
    reason = Reason("payment.paypal_friends", Category.EXTERNAL_PAYMENT, 0.7, "PayPal entre amis", (3, 20))
    items = []
    with session_factory() as session:
        for i in range(n):
            body = message(i, tag, with_parties=True)
            out = submit(
                session,
                SubmissionContent(
                    kind=Kind.MESSAGE,
                    external_id=body["external_id"],
                    text=body["text"],
                    conversation_id=body["conversation_id"],
                    sender=body["sender"],
                    recipient=body["recipient"],
                    lang="fr",
                ),
                actor="key:test",
            )
            result = ScoreResult(
                out.submission_id, 0.9, Verdict(verdict), (Category.EXTERNAL_PAYMENT,), (reason,), "m", "r"
            )
            items.append((out.submission_id, out.revision, result, 2.0))
        session.commit()
    return items


def count(session: Session, model: Any, sid: str) -> int:
    column = model.subject_id if hasattr(model, "subject_id") else model.submission_id
    return int(session.scalar(select(func.count()).select_from(model).where(column == sid)) or 0)


def test_an_already_scored_item_is_recorded_once(session_factory: sessionmaker[Session]) -> None:
    items = fresh_items(session_factory, 4, "again")
    sid, rev, first, _ = items[1]
    with session_factory() as session:
        assert record_assessment(session, sid, rev, first, 1.0) is True
        session.commit()
    allow = ScoreResult(sid, 0.01, Verdict.ALLOW, (), (), "m", "r")
    with session_factory() as session:
        recorded = record_assessments(session, [items[0], (sid, rev, allow, 1.0), *items[2:]])
        session.commit()
    assert [r.submission_id for r in recorded] == [items[0][0], items[2][0], items[3][0]]
    with session_factory() as session:
        assert session.scalars(select(Assessment.verdict).where(Assessment.submission_id == sid)).all() == [
            "hold"
        ]
        assert count(session, WebhookEvent, sid) == 1
        assert count(session, ReviewItem, sid) == 1
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == sid)).all()
        assert actions.count("assessment.created") == 1 and actions.count("review_item.opened") == 1
        for other, _, _, _ in items:
            assert count(session, Assessment, other) == 1


def test_duplicated_items_in_one_batch_are_recorded_once(session_factory: sessionmaker[Session]) -> None:
    items = fresh_items(session_factory, 3, "dup")
    sid, rev, _, _ = items[0]
    allow = ScoreResult(sid, 0.01, Verdict.ALLOW, (), (), "m", "r")
    with session_factory() as session:
        recorded = record_assessments(
            session, [items[0], items[1], (sid, rev, allow, 1.0), items[0], items[2]]
        )
        session.commit()
    assert [r.submission_id for r in recorded] == [i[0] for i in items]
    with session_factory() as session:
        assert session.scalars(select(Assessment.verdict).where(Assessment.submission_id == sid)).all() == [
            "hold"
        ]
        assert count(session, WebhookEvent, sid) == 1
        assert count(session, SafetyWarning, sid) == 1
        assert count(session, ReviewItem, sid) == 1


def statements_for(engine: Engine, record: Callable[[], None]) -> int:
    seen: list[str] = []

    def on_execute(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        record()
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return len(seen)


@pytest.mark.parametrize("emit_webhook", [True, False])
def test_statements_per_batch_do_not_grow_with_the_batch(
    session_factory: sessionmaker[Session], emit_webhook: bool
) -> None:
    engine = session_factory.kw["bind"]
    small, large = fresh_items(session_factory, 3, "small"), fresh_items(session_factory, 40, "large")

    def record(items: list[Item]) -> Callable[[], None]:
        def run() -> None:
            with session_factory() as session:
                assert len(record_assessments(session, items, emit_webhook=emit_webhook)) == len(items)
                session.commit()

        return run

    large_count, small_count = statements_for(engine, record(large)), statements_for(engine, record(small))
    assert large_count == small_count <= 9, (large_count, small_count)


def test_concurrent_batches_record_each_item_once(session_factory: sessionmaker[Session]) -> None:
    items = fresh_items(session_factory, 12, "race")
    barrier = threading.Barrier(2)
    won: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def worker(index: int, batch: list[Item]) -> None:
        try:
            with session_factory() as session:
                barrier.wait()
                won[index] = [r.submission_id for r in record_assessments(session, batch)]
                session.commit()
        except BaseException as exc:  # surfaced by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(0, items)),
        threading.Thread(target=worker, args=(1, list(reversed(items[4:])))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sorted(won[0] + won[1]) == sorted(i[0] for i in items)  # each item recorded by exactly one
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == len(items)
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == len(items)
        assert session.scalar(select(func.count()).select_from(ReviewItem)) == len(items)


class DeletingScorer:
    """The shipped scorer, but the submission `victim` is deleted while the batch is being scored
    (an operator's erasure landing mid-job)."""

    def __init__(self, scorer: Any, session_factory: sessionmaker[Session], victim: str) -> None:
        self.scorer, self.session_factory, self.victim = scorer, session_factory, victim

    def score(self, item: ScoreInput, context: Any = None, /) -> ScoreResult:
        return self.score_many([item])[0]

    def score_many(self, items: Sequence[ScoreInput], contexts: Any = None, /) -> list[ScoreResult]:
        with self.session_factory() as session:
            session.execute(delete(Submission).where(Submission.id == self.victim))
            session.commit()
        return list(self.scorer.score_many(items))


def test_a_row_deleted_mid_batch_costs_only_its_own_verdict(
    session_factory: sessionmaker[Session], scorer: Any
) -> None:
    items = fresh_items(session_factory, 5, "vanish")
    victim = items[2][0]
    outcomes = score_and_record_many(
        session_factory,
        DeletingScorer(scorer, session_factory, victim),
        [(sid, rev) for sid, rev, _, _ in items],
    )
    assert [o.status for o in outcomes] == ["scored", "scored", "missing", "scored", "scored"]
    assert all(o.event_id for o in outcomes if o.status == "scored")
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 4
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 4
