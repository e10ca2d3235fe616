"""Recording verdicts: exactly one assessment per revision, announced through the webhook outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, tuple_, update
from sqlalchemy.orm import Session

from moderation import audit, webhooks
from moderation import warnings as safety_warnings
from moderation.clock import utcnow
from moderation.inserts import insert_if_absent, insert_many_if_absent
from moderation.models import Assessment, Submission, SubmissionRevision
from moderation.recorded_verdict import RecordedVerdict
from moderation.review import open_items_for_verdicts, open_or_bump_item
from scoring.types import ScoreResult

ASSESSMENT_CREATED = "assessment.created"
# Verdicts that put the content in front of a moderator (DESIGN.md contract 3).
REVIEW_VERDICTS = frozenset({"review", "hold"})


def record_assessment(
    session: Session,
    submission_id: str,
    revision: int,
    result: ScoreResult,
    duration_ms: float,
    *,
    emit_webhook: bool = True,
) -> bool:
    """Store `result` as the assessment of (submission_id, revision). Does not commit.

    In the same transaction: the revision becomes `scored`, an audit event is written and, when
    `emit_webhook`, an `assessment.created` event is added to the webhook outbox. Returns False and
    changes nothing when that revision already has an assessment (a job that ran twice, two workers
    racing): the UNIQUE(submission_id, revision) constraint decides who was first.
    """
    now = utcnow()
    values = _assessment_values(submission_id, revision, result, duration_ms, now)
    if not insert_if_absent(session, Assessment, values, ("submission_id", "revision")):
        return False
    session.execute(
        update(SubmissionRevision)
        .where(SubmissionRevision.submission_id == submission_id, SubmissionRevision.revision == revision)
        .values(status="scored")
    )
    audit.record(
        session,
        audit.SYSTEM_ACTOR,
        "assessment.created",
        "submission",
        submission_id,
        {"revision": revision, "verdict": values["verdict"], "score": round(values["score"], 4)},
    )
    if values["verdict"] in REVIEW_VERDICTS:
        # Same transaction as the verdict: an item is queued exactly when the assessment exists.
        open_or_bump_item(session, submission_id, revision, "verdict", 0.0, now)
    # warn/review/hold on a message: the recipient's safety warnings, in the same transaction.
    issued = safety_warnings.issue_for_verdict(
        session, submission_id, revision, values["verdict"], values["categories"], values["reasons"], now
    )
    if emit_webhook:
        submission = session.get(Submission, submission_id)
        event = _verdict_event(submission, values)
        event["warnings"] = safety_warnings.rendered_for_webhook(issued)
        webhooks.add_event(session, ASSESSMENT_CREATED, submission_id, event, now=now)
    return True


@dataclass(frozen=True)
class Recorded:
    """A revision whose assessment this call stored; `event_id` is its `assessment.created` outbox
    event when one was emitted (the caller enqueues its delivery after commit)."""

    submission_id: str
    revision: int
    event_id: str | None


def record_assessments(
    session: Session,
    items: Sequence[tuple[str, int, ScoreResult, float]],
    *,
    emit_webhook: bool = True,
) -> list[Recorded]:
    """Batch form of `record_assessment` for (submission_id, revision, result, duration_ms) items:
    the same rows (assessments, revision status, audit events, review items, warnings, outbox
    events) in a constant number of statements per batch instead of several per item. Does not commit.

    Returns the items this call recorded, in input order. An item whose revision already has an
    assessment (a job that ran twice, two workers racing), or that repeats an earlier item of the
    batch, is left alone exactly as `record_assessment` would: the multi-row INSERT ... ON CONFLICT
    DO NOTHING on UNIQUE(submission_id, revision) decides, so under races the database still picks
    one winner. An item naming an unknown submission fails the whole statement (IntegrityError: the
    foreign key), as `record_assessment` fails for it; the caller rolls back and goes item by item.
    """
    now = utcnow()
    results: dict[tuple[str, int], tuple[ScoreResult, float]] = {}
    for submission_id, revision, result, duration_ms in items:
        results.setdefault((submission_id, int(revision)), (result, duration_ms))
    if not results:
        return []
    rows = [_assessment_values(sid, rev, result, ms, now) for (sid, rev), (result, ms) in results.items()]
    # Rows in key order: two workers racing on overlapping batches (PostgreSQL) then take the unique
    # index's row locks in the same order and one waits for the other instead of deadlocking.
    inserted = set(
        insert_many_if_absent(
            session,
            Assessment,
            sorted(rows, key=lambda row: (row["submission_id"], row["revision"])),
            ("submission_id", "revision"),
            ("submission_id", "revision"),
        )
    )
    recorded = [row for row in rows if (row["submission_id"], row["revision"]) in inserted]
    if not recorded:
        return []
    keys = [(row["submission_id"], row["revision"]) for row in recorded]
    # Core statement on the table: the ORM would try to synchronise the revisions it holds.
    session.execute(
        update(SubmissionRevision.__table__)  # type: ignore[arg-type]
        .where(tuple_(SubmissionRevision.submission_id, SubmissionRevision.revision).in_(keys))
        .values(status="scored")
    )
    audit.record_many(
        session,
        [
            (
                audit.SYSTEM_ACTOR,
                "assessment.created",
                "submission",
                row["submission_id"],
                {"revision": row["revision"], "verdict": row["verdict"], "score": round(row["score"], 4)},
            )
            for row in recorded
        ],
        now,
    )
    verdicts = _recorded_verdicts(session, recorded)
    # Same transaction as the verdicts: an item is queued exactly when its assessment exists.
    open_items_for_verdicts(session, [v for v in verdicts if v.verdict in REVIEW_VERDICTS], now)
    issued = safety_warnings.issue_for_verdicts(session, verdicts, now, with_active=emit_webhook)
    if not emit_webhook:
        return [Recorded(sid, rev, None) for sid, rev in keys]
    events = []
    for row, verdict in zip(recorded, verdicts, strict=True):
        event = _verdict_event(verdict.submission, row)
        event["warnings"] = safety_warnings.rendered_for_webhook(issued.get(row["submission_id"], []))
        events.append((ASSESSMENT_CREATED, row["submission_id"], event))
    event_ids = webhooks.add_events(session, events, now=now)
    return [Recorded(sid, rev, event_id) for (sid, rev), event_id in zip(keys, event_ids, strict=True)]


def _assessment_values(
    submission_id: str, revision: int, result: ScoreResult, duration_ms: float, now: datetime
) -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "revision": revision,
        "score": float(result.score),
        "verdict": result.verdict.value,
        "categories": [c.value for c in result.categories],
        "reasons": [r.to_dict() for r in result.reasons],
        "model_version": result.model_version,
        "rules_version": result.rules_version,
        "duration_ms": float(duration_ms),
        "created_at": now,
    }


def _recorded_verdicts(session: Session, recorded: list[dict[str, Any]]) -> list[RecordedVerdict]:
    """The recorded assessments with their submissions and payloads, read in one query."""
    keys = [(row["submission_id"], row["revision"]) for row in recorded]
    found = session.execute(
        select(Submission, SubmissionRevision.revision, SubmissionRevision.payload)
        .outerjoin(
            SubmissionRevision,
            and_(
                SubmissionRevision.submission_id == Submission.id,
                tuple_(SubmissionRevision.submission_id, SubmissionRevision.revision).in_(keys),
            ),
        )
        .where(Submission.id.in_({sid for sid, _ in keys}))
    ).all()
    submissions = {submission.id: submission for submission, _, _ in found}
    payloads = {(submission.id, rev): payload for submission, rev, payload in found if rev is not None}
    return [
        RecordedVerdict(
            submission=submissions[row["submission_id"]],
            revision=row["revision"],
            payload=payloads.get((row["submission_id"], row["revision"])) or {},
            score=row["score"],
            verdict=row["verdict"],
            categories=row["categories"],
            reasons=row["reasons"],
        )
        for row in recorded
    ]


def _verdict_event(submission: Submission | None, values: dict[str, Any]) -> dict[str, Any]:
    # The platform needs its own ids to act on the verdict; the text itself is not repeated.
    return {
        "submission_id": values["submission_id"],
        "kind": submission.kind if submission else None,
        "external_id": submission.external_id if submission else None,
        "conversation_id": submission.conversation_id if submission else None,
        "revision": values["revision"],
        "score": round(values["score"], 4),
        "verdict": values["verdict"],
        "categories": values["categories"],
        "reasons": values["reasons"],
        "model_version": values["model_version"],
        "rules_version": values["rules_version"],
        "assessed_at": values["created_at"].isoformat(),
    }


def get_assessments(session: Session, submission_id: str) -> list[Assessment]:
    """Every assessment of a submission, oldest revision first."""
    return list(
        session.scalars(
            select(Assessment).where(Assessment.submission_id == submission_id).order_by(Assessment.revision)
        )
    )
