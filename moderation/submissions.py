"""Accepting content: idempotent submission of messages and listings, and reading it back.

The database is the record of what must be scored: a revision is written `queued` here, the
caller enqueues the scoring job after commit, and the sweeper re-enqueues whatever stays queued.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from moderation import audit
from moderation.clock import utcnow
from moderation.errors import IdempotencyConflict
from moderation.inserts import insert_if_absent
from moderation.models import Assessment, Submission, SubmissionRevision
from scoring.types import Kind, ScoreInput, Sender

# Fields whose change makes a new revision; the idempotency key (kind, external_id) is not one.
CONTENT_FIELDS = (
    "text",
    "title",
    "price",
    "category",
    "conversation_id",
    "sender",
    "recipient",
    "lang",
)
_SENDER_FIELDS = frozenset(f.name for f in dataclasses.fields(Sender))
# A listing edited concurrently by several requests: re-read and retry this many times.
_MAX_REVISION_RACES = 5


@dataclass(frozen=True)
class SubmissionContent:
    """A validated message or listing as the platform sent it."""

    kind: Kind
    external_id: str
    text: str
    conversation_id: str | None = None
    title: str | None = None
    price: float | None = None
    category: str | None = None
    sender: dict[str, Any] | None = None
    recipient: dict[str, Any] | None = None
    lang: str | None = None

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready dict of every field (what is stored as the revision's payload)."""
        out = dataclasses.asdict(self)
        out["kind"] = Kind(self.kind).value
        return out

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the content fields."""
        payload = self.to_payload()
        content = {name: payload[name] for name in CONTENT_FIELDS}
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SubmitOutcome:
    """Result of `submit`. `created` is False when an identical earlier request is replayed."""

    submission_id: str
    revision: int
    created: bool
    status: str


@dataclass(frozen=True)
class AssessmentView:
    score: float
    verdict: str
    categories: list[str]
    reasons: list[dict[str, Any]]
    model_version: str
    rules_version: str
    assessed_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "verdict": self.verdict,
            "categories": list(self.categories),
            "reasons": list(self.reasons),
            "model_version": self.model_version,
            "rules_version": self.rules_version,
            "assessed_at": self.assessed_at.isoformat(),
        }


@dataclass(frozen=True)
class SubmissionView:
    """A submission at its current revision, with that revision's assessment when there is one."""

    id: str
    kind: str
    external_id: str
    conversation_id: str | None
    revision: int
    status: str
    created_at: datetime
    assessment: AssessmentView | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "external_id": self.external_id,
            "conversation_id": self.conversation_id,
            "revision": self.revision,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "assessment": self.assessment.to_dict() if self.assessment else None,
        }


def submit(session: Session, content: SubmissionContent, actor: str) -> SubmitOutcome:
    """Store `content` idempotently on (kind, external_id). Does not commit.

    - new key: a submission at revision 1, status `queued`;
    - same content hash as the current revision: that revision's outcome, `created=False`;
    - different content: a listing gets the next revision; a message raises IdempotencyConflict
      (chat messages are immutable, a different body under the same id is a client bug).
    Concurrent calls with the same key never create two submissions: the database arbitrates.
    """
    kind = Kind(content.kind)
    content_hash = content.content_hash()
    now = utcnow()
    new_id = uuid.uuid4().hex
    inserted = insert_if_absent(
        session,
        Submission,
        {
            "id": new_id,
            "kind": kind.value,
            "external_id": content.external_id,
            "conversation_id": content.conversation_id,
            "sender_id": _party_id(content.sender),
            "recipient_id": _party_id(content.recipient),
            "current_revision": 1,
            "created_at": now,
            "updated_at": now,
        },
        ("kind", "external_id"),
    )
    if inserted:
        _add_revision(session, new_id, 1, content, content_hash, now)
        audit.record(
            session, actor, "submission.created", "submission", new_id, {"kind": kind.value, "revision": 1}
        )
        return SubmitOutcome(submission_id=new_id, revision=1, created=True, status="queued")

    for _ in range(_MAX_REVISION_RACES):
        submission = session.scalars(
            select(Submission)
            .where(Submission.kind == kind.value, Submission.external_id == content.external_id)
            .execution_options(populate_existing=True)
        ).one()
        current = session.scalars(
            select(SubmissionRevision)
            .where(
                SubmissionRevision.submission_id == submission.id,
                SubmissionRevision.revision == submission.current_revision,
            )
            .execution_options(populate_existing=True)
        ).one()
        if current.content_hash == content_hash:
            return SubmitOutcome(submission.id, current.revision, created=False, status=current.status)
        if kind is Kind.MESSAGE:
            raise IdempotencyConflict(field="external_id", existing_id=submission.id)
        next_revision = current.revision + 1
        # Compare-and-set on current_revision: of two concurrent edits exactly one wins this revision.
        result = session.execute(
            update(Submission)
            .where(Submission.id == submission.id, Submission.current_revision == current.revision)
            .values(current_revision=next_revision, updated_at=now)
        )
        if getattr(result, "rowcount", 0) == 1:
            _add_revision(session, submission.id, next_revision, content, content_hash, now)
            audit.record(
                session,
                actor,
                "submission.revised",
                "submission",
                submission.id,
                {"kind": kind.value, "revision": next_revision},
            )
            return SubmitOutcome(submission.id, next_revision, created=True, status="queued")
    raise RuntimeError(f"listing {content.external_id!r} kept changing under concurrent edits")


def _party_id(party: dict[str, Any] | None) -> str | None:
    value = (party or {}).get("id")
    return None if value is None else str(value)


def _add_revision(
    session: Session,
    submission_id: str,
    revision: int,
    content: SubmissionContent,
    content_hash: str,
    now: datetime,
) -> None:
    session.add(
        SubmissionRevision(
            submission_id=submission_id,
            revision=revision,
            content_hash=content_hash,
            payload=content.to_payload(),
            text=content.text,
            title=content.title,
            status="queued",
            enqueued_at=now,
            attempts=0,
            created_at=now,
        )
    )
    session.flush()


def get_submission(session: Session, kind: Kind | str, submission_id: str) -> SubmissionView | None:
    """The submission of that kind at its current revision, or None if there is none."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.kind != Kind(kind).value:
        return None
    revision = get_revision(session, submission.id, submission.current_revision)
    assessment = session.scalar(
        select(Assessment).where(
            Assessment.submission_id == submission.id, Assessment.revision == submission.current_revision
        )
    )
    return SubmissionView(
        id=submission.id,
        kind=submission.kind,
        external_id=submission.external_id,
        conversation_id=submission.conversation_id,
        revision=submission.current_revision,
        status=revision.status if revision is not None else "queued",
        created_at=submission.created_at,
        assessment=_assessment_view(assessment) if assessment is not None else None,
    )


def _assessment_view(row: Assessment) -> AssessmentView:
    return AssessmentView(
        score=row.score,
        verdict=row.verdict,
        categories=list(row.categories),
        reasons=list(row.reasons),
        model_version=row.model_version,
        rules_version=row.rules_version,
        assessed_at=row.created_at,
    )


def get_revision(session: Session, submission_id: str, revision: int) -> SubmissionRevision | None:
    """One revision row, or None."""
    return session.scalar(
        select(SubmissionRevision).where(
            SubmissionRevision.submission_id == submission_id, SubmissionRevision.revision == revision
        )
    )


def to_score_input(revision_row: SubmissionRevision) -> ScoreInput:
    """The scoring core's input for a stored revision (its id is the submission id)."""
    payload = revision_row.payload
    sender = payload.get("sender")
    recipient = payload.get("recipient") or {}
    price = payload.get("price")
    return ScoreInput(
        id=revision_row.submission_id,
        kind=Kind(payload["kind"]),
        text=revision_row.text,
        title=revision_row.title,
        price=float(price) if price is not None else None,
        category=payload.get("category"),
        conversation_id=payload.get("conversation_id"),
        sender=Sender(**{k: v for k, v in sender.items() if k in _SENDER_FIELDS}) if sender else None,
        recipient_id=_party_id(recipient),
        lang=payload.get("lang"),
    )


def find_stale_queued(session: Session, older_than: datetime, limit: int) -> list[tuple[str, int]]:
    """(submission_id, revision) of revisions still `queued` whose last enqueue is before `older_than`,
    oldest first."""
    rows = session.execute(
        select(SubmissionRevision.submission_id, SubmissionRevision.revision)
        .where(SubmissionRevision.status == "queued", SubmissionRevision.enqueued_at < older_than)
        .order_by(SubmissionRevision.enqueued_at)
        .limit(limit)
    )
    return [(row.submission_id, row.revision) for row in rows]


def find_stale_queued_timed(
    session: Session, older_than: datetime, limit: int
) -> list[tuple[str, int, datetime]]:
    """Like `find_stale_queued`, with each revision's last enqueue time (oldest first)."""
    rows = session.execute(
        select(SubmissionRevision.submission_id, SubmissionRevision.revision, SubmissionRevision.enqueued_at)
        .where(SubmissionRevision.status == "queued", SubmissionRevision.enqueued_at < older_than)
        .order_by(SubmissionRevision.enqueued_at)
        .limit(limit)
    )
    return [(row.submission_id, row.revision, row.enqueued_at) for row in rows]


def claim_undispatched(session: Session, now: datetime, limit: int) -> list[tuple[str, int]]:
    """Claim up to `limit` queued revisions that were never handed to a worker, oldest first.

    Claimed revisions get `attempts = 1` and `enqueued_at = now`, so a claim that is never
    enqueued (the process died, Redis is down) is picked up by the sweeper once stale. The
    conditional UPDATE makes concurrent dispatchers safe: a revision is claimed by one of them.
    Does not commit.
    """
    candidates = (
        session.execute(
            select(SubmissionRevision.id)
            .where(SubmissionRevision.status == "queued", SubmissionRevision.attempts == 0)
            .order_by(SubmissionRevision.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    if not candidates:
        return []
    claimed = session.execute(
        update(SubmissionRevision)
        .where(
            SubmissionRevision.id.in_(candidates),
            SubmissionRevision.status == "queued",
            SubmissionRevision.attempts == 0,
        )
        .values(attempts=1, enqueued_at=now)
        .returning(SubmissionRevision.id, SubmissionRevision.submission_id, SubmissionRevision.revision)
    ).all()
    # RETURNING order is unspecified: keep submission order so the oldest are scored first.
    return [(row.submission_id, row.revision) for row in sorted(claimed, key=lambda r: r.id)]


def mark_requeued(
    session: Session, items: list[tuple[str, int]], now: datetime, count_attempt: bool = True
) -> None:
    """Record that these still-queued revisions were (re-)enqueued or checked at `now`.

    `count_attempt` bumps `attempts` (a real re-enqueue); without it the revision only moves to the
    back of the sweeper's scan order (its job was found still waiting in Redis). Does not commit.
    """
    for submission_id, revision in items:
        values: dict[str, Any] = {"enqueued_at": now}
        if count_attempt:
            values["attempts"] = SubmissionRevision.attempts + 1
        session.execute(
            update(SubmissionRevision)
            .where(
                SubmissionRevision.submission_id == submission_id,
                SubmissionRevision.revision == revision,
                SubmissionRevision.status == "queued",
            )
            .values(**values)
        )


def mark_failed(session: Session, submission_id: str, revision: int, reason: str) -> bool:
    """Give up on a queued revision (content that cannot be scored). Audited; does not commit.

    Returns False when the revision is not `queued` any more (already scored, for instance).
    """
    result = session.execute(
        update(SubmissionRevision)
        .where(
            SubmissionRevision.submission_id == submission_id,
            SubmissionRevision.revision == revision,
            SubmissionRevision.status == "queued",
        )
        .values(status="failed")
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    audit.record(
        session,
        audit.SYSTEM_ACTOR,
        "submission.failed",
        "submission",
        submission_id,
        {"revision": revision, "reason": reason},
    )
    return True


def fail_exhausted(session: Session, older_than: datetime, max_attempts: int, limit: int = 100) -> int:
    """Mark `failed` the stale queued revisions already re-enqueued `max_attempts` times. Does not commit.

    Without this cap, content that crashes or hangs every worker would be re-enqueued forever.
    """
    rows = session.execute(
        select(SubmissionRevision.submission_id, SubmissionRevision.revision)
        .where(
            SubmissionRevision.status == "queued",
            SubmissionRevision.enqueued_at < older_than,
            SubmissionRevision.attempts >= max_attempts,
        )
        .limit(limit)
    ).all()
    return sum(mark_failed(session, sid, rev, "max_attempts") for sid, rev in rows)
