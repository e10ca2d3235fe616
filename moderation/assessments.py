"""Recording verdicts: exactly one assessment per revision, announced through the webhook outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from moderation import audit, webhooks
from moderation import warnings as safety_warnings
from moderation.clock import utcnow
from moderation.inserts import insert_if_absent
from moderation.models import Assessment, Submission, SubmissionRevision
from moderation.review import open_or_bump_item
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
    values: dict[str, Any] = {
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
