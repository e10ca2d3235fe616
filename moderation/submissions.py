"""Accepting content: idempotent submission of messages and listings, and reading it back.

The database is the record of what must be scored: a revision is written `queued` here, the
caller enqueues the scoring job after commit, and the sweeper re-enqueues whatever stays queued.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from moderation import audit
from moderation.clock import utcnow
from moderation.errors import IdempotencyConflict
from moderation.models import Assessment, AuditEvent, Submission, SubmissionRevision
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
# Core tables: accepting content goes through Core statements, not the ORM unit of work.
_SUBMISSIONS = cast(Table, Submission.__table__)
_REVISIONS = cast(Table, SubmissionRevision.__table__)
_AUDIT_EVENTS = cast(Table, AuditEvent.__table__)


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
        # Explicit rather than dataclasses.asdict, whose recursive deep copy was a visible share of a
        # submission's CPU cost; the nested party dicts are copied one level (they hold scalars).
        return {
            "kind": Kind(self.kind).value,
            "external_id": self.external_id,
            "text": self.text,
            "conversation_id": self.conversation_id,
            "title": self.title,
            "price": self.price,
            "category": self.category,
            "sender": dict(self.sender) if self.sender is not None else None,
            "recipient": dict(self.recipient) if self.recipient is not None else None,
            "lang": self.lang,
        }

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
    (outcome,) = submit_many(session, [content], actor)
    if isinstance(outcome, IdempotencyConflict):
        raise outcome
    return outcome


def submit_many(
    session: Session, contents: Sequence[SubmissionContent], actor: str
) -> list[SubmitOutcome | IdempotencyConflict]:
    """`submit` for several items in the caller's transaction: one outcome per item, in order.

    A message whose external_id is taken by a different body yields its IdempotencyConflict in
    place of an outcome (the other items still go through). Items are applied in order, so the
    same external_id twice in one call behaves as two calls: a replay, a conflict or a revision.
    Core statements, not the ORM unit of work: new submissions cost one multi-row INSERT per
    table (submissions, revisions, audit events) whatever their number. Does not commit.
    """
    if not contents:
        return []
    now = utcnow()
    hashes = [content.content_hash() for content in contents]
    new_ids = [uuid.uuid4().hex for _ in contents]
    submissions = _SUBMISSIONS
    inserted_ids = set(
        session.execute(
            _insert_ignoring(session, submissions, ("kind", "external_id")).returning(submissions.c.id),
            [
                {
                    "id": new_id,
                    "kind": Kind(content.kind).value,
                    "external_id": content.external_id,
                    "conversation_id": content.conversation_id,
                    "sender_id": _party_id(content.sender),
                    "recipient_id": _party_id(content.recipient),
                    "current_revision": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for new_id, content in zip(new_ids, contents, strict=True)
            ],
        ).scalars()
    )
    outcomes: list[SubmitOutcome | IdempotencyConflict | None] = [None] * len(contents)
    revisions: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for index, (new_id, content, content_hash) in enumerate(zip(new_ids, contents, hashes, strict=True)):
        if new_id in inserted_ids:
            revisions.append(_revision_row(new_id, 1, content, content_hash, now))
            events.append(_audit_row(actor, "submission.created", new_id, content.kind, 1, now))
            outcomes[index] = SubmitOutcome(submission_id=new_id, revision=1, created=True, status="queued")
    _insert_rows(session, revisions, events)
    # Replays, conflicts and listing edits: rare, applied one by one in order (each sees the earlier ones).
    for index, (content, content_hash) in enumerate(zip(contents, hashes, strict=True)):
        if outcomes[index] is None:
            outcomes[index] = _submit_existing(session, content, content_hash, actor, now)
    return [outcome for outcome in outcomes if outcome is not None]


def _submit_existing(
    session: Session, content: SubmissionContent, content_hash: str, actor: str, now: datetime
) -> SubmitOutcome | IdempotencyConflict:
    kind = Kind(content.kind)
    submissions, revisions = _SUBMISSIONS, _REVISIONS
    for _ in range(_MAX_REVISION_RACES):
        row = session.execute(
            select(submissions.c.id, revisions.c.revision, revisions.c.content_hash, revisions.c.status)
            .join(
                revisions,
                (revisions.c.submission_id == submissions.c.id)
                & (revisions.c.revision == submissions.c.current_revision),
            )
            .where(submissions.c.kind == kind.value, submissions.c.external_id == content.external_id)
        ).one()
        if row.content_hash == content_hash:
            return SubmitOutcome(row.id, row.revision, created=False, status=row.status)
        if kind is Kind.MESSAGE:
            return IdempotencyConflict(field="external_id", existing_id=row.id)
        next_revision = row.revision + 1
        # Compare-and-set on current_revision: of two concurrent edits exactly one wins this revision.
        result = session.execute(
            update(submissions)
            .where(submissions.c.id == row.id, submissions.c.current_revision == row.revision)
            .values(current_revision=next_revision, updated_at=now)
        )
        if getattr(result, "rowcount", 0) == 1:
            _insert_rows(
                session,
                [_revision_row(row.id, next_revision, content, content_hash, now)],
                [_audit_row(actor, "submission.revised", row.id, kind, next_revision, now)],
            )
            return SubmitOutcome(row.id, next_revision, created=True, status="queued")
    raise RuntimeError(f"listing {content.external_id!r} kept changing under concurrent edits")


def _insert_ignoring(session: Session, table: Table, conflict_columns: Sequence[str]) -> Any:
    """INSERT … ON CONFLICT (conflict_columns) DO NOTHING for the session's dialect."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def _insert_rows(session: Session, revisions: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    if revisions:
        session.execute(insert(_REVISIONS), revisions)
    if events:
        session.execute(insert(_AUDIT_EVENTS), events)


def _party_id(party: dict[str, Any] | None) -> str | None:
    value = (party or {}).get("id")
    return None if value is None else str(value)


def _revision_row(
    submission_id: str, revision: int, content: SubmissionContent, content_hash: str, now: datetime
) -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "revision": revision,
        "content_hash": content_hash,
        "payload": content.to_payload(),
        "text": content.text,
        "title": content.title,
        "status": "queued",
        "enqueued_at": now,
        "attempts": 0,
        "created_at": now,
    }


def _audit_row(
    actor: str, action: str, submission_id: str, kind: Kind | str, revision: int, now: datetime
) -> dict[str, Any]:
    # The same row audit.record would add through the ORM.
    return {
        "at": now,
        "actor": actor,
        "action": action,
        "subject_type": "submission",
        "subject_id": submission_id,
        "data": {"kind": Kind(kind).value, "revision": revision},
    }


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
