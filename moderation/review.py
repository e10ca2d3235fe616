"""The review queue: one item per submission, its priority and SLA, claims with leases, assignment,
escalation to the senior queue, and the filtered, paginated listing.

Concurrency is settled by the database, never by a read-then-write in Python: a claim is one
conditional `UPDATE ... WHERE claimed_by IS NULL OR lease_expires_at < now`, and the row count says
who won. That works identically on SQLite (one writer at a time) and PostgreSQL (row locks, the
WHERE clause re-evaluated on the latest row version). Nothing here commits; callers own the
transaction.
"""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select, update
from sqlalchemy.orm import Session

from moderation import audit
from moderation.errors import ModerationError, NotFound
from moderation.inserts import insert_if_absent, insert_many_if_absent
from moderation.models import Assessment, Submission, SubmissionRevision
from moderation.recorded_verdict import RecordedVerdict
from moderation.review_models import Moderator, ReviewItem

OPEN, DECIDED, NEEDS_INFO = "open", "decided", "needs_info"
STANDARD_QUEUE, SENIOR_QUEUE = "standard", "senior"
SOURCES = frozenset({"verdict", "report", "appeal"})

# How much each scam mechanism hurts a victim (0..1): money or account loss first, nuisance last.
CATEGORY_SEVERITY: dict[str, float] = {
    "account_takeover": 1.0,
    "fake_secure_payment": 1.0,
    "spoofed_domain": 0.9,
    "phishing_link": 0.85,
    "fake_delivery": 0.85,
    "external_payment": 0.8,
    "advance_fee": 0.8,
    "overpayment": 0.8,
    "campaign": 0.7,
    "off_platform": 0.5,
    "url_shortener": 0.4,
}
# Waiting time raises priority so low-priority items are not starved forever.
AGE_POINTS_PER_HOUR = 2.0
# A sender account younger than this is "new": scammers burn fresh accounts.
NEW_ACCOUNT_DAYS = 7.0
SLA_HOLD = timedelta(hours=1)  # held messages are not delivered until decided: users wait
SLA_URGENT = timedelta(hours=4)
SLA_NORMAL = timedelta(hours=24)
SLA_APPEAL = timedelta(hours=48)
URGENT_PRIORITY = 60.0
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


class ReviewError(ModerationError):
    """Base of the review queue's refusals; `item_id` names the item."""

    def __init__(self, item_id: str, message: str) -> None:
        self.item_id = item_id
        super().__init__(message)


class ClaimConflict(ReviewError):
    """Another moderator holds the item's lease until `lease_expires_at`."""

    def __init__(self, item_id: str, holder: str, lease_expires_at: datetime | None) -> None:
        self.holder = holder
        self.lease_expires_at = lease_expires_at
        super().__init__(item_id, f"item {item_id} is claimed by another moderator")


class VersionConflict(ReviewError):
    """The item changed since the caller read it (`expected` vs `current` version)."""

    def __init__(self, item_id: str, expected: int, current: int) -> None:
        self.expected = expected
        self.current = current
        super().__init__(item_id, f"item {item_id} is at version {current}, not {expected}")


class StateConflict(ReviewError):
    """The operation does not apply to the item in its current state (e.g. deciding a decided item)."""

    def __init__(self, item_id: str, status: str, message: str) -> None:
        self.status = status
        super().__init__(item_id, message)


class NotPermitted(ReviewError):
    """This moderator may not act on this item (senior queue, their own decision under appeal...)."""


@dataclass(frozen=True)
class ItemFacts:
    """What priority is computed from, gathered from the submission and its assessment."""

    kind: str
    score: float | None
    verdict: str | None
    categories: list[str]
    lang: str | None
    sender_id: str | None
    sender_is_pro: bool | None
    sender_new_account: bool


def compute_priority(
    score: float | None,
    verdict: str | None,
    categories: Sequence[str],
    report_weight: float,
    sender_new_account: bool,
) -> float:
    """Base priority in [0, 100] (age is added at read time, see `effective_priority`).

    45 points for the model score, 25 for the most severe category, up to 15 for reports
    (saturating: the tenth report matters less than the first), 10 when the sender's account is new
    (its first contacts are the exposed ones), 5 when the message is held (a user is waiting).
    """
    severity = max((CATEGORY_SEVERITY.get(c, 0.5) for c in categories), default=0.0)
    reports = 1.0 - math.exp(-max(0.0, report_weight) / 2.0)
    value = (
        45.0 * (score or 0.0)
        + 25.0 * severity
        + 15.0 * reports
        + (10.0 if sender_new_account else 0.0)
        + (5.0 if verdict == "hold" else 0.0)
    )
    return round(min(100.0, max(0.0, value)), 3)


def sort_key(priority: float, opened_at: datetime) -> float:
    """Static ordering key equivalent to ordering by `effective_priority` at any instant."""
    hours = (opened_at - _EPOCH).total_seconds() / 3600.0
    return priority - AGE_POINTS_PER_HOUR * hours


def effective_priority(item: ReviewItem, now: datetime) -> float:
    """The item's priority now: its base priority plus the points earned by waiting."""
    waited_h = max(0.0, (now - item.opened_at).total_seconds() / 3600.0)
    return round(item.priority + AGE_POINTS_PER_HOUR * waited_h, 2)


def due_at_for(priority: float, verdict: str | None, opened_at: datetime, appeal: bool = False) -> datetime:
    """When the item should be decided by (its SLA clock)."""
    if appeal:
        return opened_at + SLA_APPEAL
    if verdict == "hold":
        return opened_at + SLA_HOLD
    return opened_at + (SLA_URGENT if priority >= URGENT_PRIORITY else SLA_NORMAL)


def holder(item: ReviewItem, now: datetime) -> str | None:
    """The moderator whose lease on the item is still valid, or None (free, or lease expired)."""
    if item.claimed_by is None or item.lease_expires_at is None or item.lease_expires_at <= now:
        return None
    return item.claimed_by


def _facts(session: Session, submission: Submission, revision: int) -> ItemFacts:
    assessment = session.scalar(
        select(Assessment).where(Assessment.submission_id == submission.id, Assessment.revision == revision)
    )
    row = session.scalar(
        select(SubmissionRevision).where(
            SubmissionRevision.submission_id == submission.id, SubmissionRevision.revision == revision
        )
    )
    payload: dict[str, Any] = row.payload if row is not None else {}
    if assessment is None:
        return _facts_from(submission, payload, None, None, [])
    return _facts_from(submission, payload, assessment.score, assessment.verdict, assessment.categories)


def _facts_from(
    submission: Submission,
    payload: Mapping[str, Any],
    score: float | None,
    verdict: str | None,
    categories: Sequence[str],
) -> ItemFacts:
    sender = payload.get("sender") or {}
    age = sender.get("account_age_days")
    is_pro = sender.get("is_pro")
    if is_pro is None and sender.get("siret"):
        is_pro = True
    return ItemFacts(
        kind=submission.kind,
        score=score,
        verdict=verdict,
        categories=list(categories),
        lang=payload.get("lang"),
        sender_id=submission.sender_id,
        sender_is_pro=is_pro,
        sender_new_account=age is not None and float(age) < NEW_ACCOUNT_DAYS,
    )


def open_or_bump_item(
    session: Session, submission_id: str, revision: int, source: str, weight: float, now: datetime
) -> ReviewItem:
    """Create the single review item of a submission, or raise the priority of the existing one.

    `source` is "verdict" (a review/hold assessment), "report" (a user report; `weight` is the
    reporter's reputation-weighted count, added to the item's report weight) or "appeal".
    A newer revision, or a report on an item parked in `needs_info`, reopens the item; reports on
    an item already decided only add weight (the decision stands; the sender has the appeal).
    Safe under concurrency: the UNIQUE(submission_id) insert and SQL-side increments arbitrate.
    Raises NotFound for an unknown submission. Does not commit.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown review source {source!r}")
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound("submission", submission_id)
    facts = _facts(session, submission, revision)
    report_weight = weight if source == "report" else 0.0
    values = _new_item_values(submission_id, revision, source, facts, report_weight, now)
    item_id, priority = values["id"], values["priority"]
    if insert_if_absent(session, ReviewItem, values, ("submission_id",)):
        audit.record(
            session,
            audit.SYSTEM_ACTOR,
            "review_item.opened",
            "submission",
            submission_id,
            {"item_id": item_id, "source": source, "revision": revision, "priority": priority},
        )
        return _load(session, item_id)
    return _bump(session, submission_id, revision, source, report_weight, now)


def open_items_for_verdicts(session: Session, verdicts: Sequence[RecordedVerdict], now: datetime) -> None:
    """Batch form of `open_or_bump_item(session, sid, revision, "verdict", 0.0, now)` for verdicts
    recorded in this transaction, in order: the same rows and audit events, in a constant number of
    statements when the items are new (the usual case).

    New items go in one multi-row INSERT ... ON CONFLICT DO NOTHING; a submission that already has
    an item (a report came first, a listing's earlier revision), or comes twice in the batch, takes
    the per-item bump path, after the inserts, as it would have in sequence. Does not commit.
    """
    first: dict[str, RecordedVerdict] = {}
    later: list[RecordedVerdict] = []
    for verdict in verdicts:
        if verdict.submission.id in first:
            later.append(verdict)
        else:
            first[verdict.submission.id] = verdict
    rows = [
        _new_item_values(
            v.submission.id,
            v.revision,
            "verdict",
            _facts_from(v.submission, v.payload, v.score, v.verdict, v.categories),
            0.0,
            now,
        )
        for v in first.values()
    ]
    opened = {
        sid
        for (sid,) in insert_many_if_absent(session, ReviewItem, rows, ("submission_id",), ("submission_id",))
    }
    audit.record_many(
        session,
        [
            (
                audit.SYSTEM_ACTOR,
                "review_item.opened",
                "submission",
                row["submission_id"],
                {
                    "item_id": row["id"],
                    "source": "verdict",
                    "revision": row["revision"],
                    "priority": row["priority"],
                },
            )
            for row in rows
            if row["submission_id"] in opened
        ],
        now,
    )
    for v in [v for v in first.values() if v.submission.id not in opened] + later:
        _bump(session, v.submission.id, v.revision, "verdict", 0.0, now)


def _new_item_values(
    submission_id: str, revision: int, source: str, facts: ItemFacts, report_weight: float, now: datetime
) -> dict[str, Any]:
    """The row of a newly opened item."""
    priority = compute_priority(
        facts.score, facts.verdict, facts.categories, report_weight, facts.sender_new_account
    )
    item_id = uuid.uuid4().hex
    return {
        "id": item_id,
        "submission_id": submission_id,
        "revision": revision,
        "kind": facts.kind,
        "status": OPEN,
        "queue": STANDARD_QUEUE,
        "priority": priority,
        "sort_key": sort_key(priority, now),
        "score": facts.score,
        "verdict": facts.verdict,
        "categories": facts.categories,
        "lang": facts.lang,
        "sender_id": facts.sender_id,
        "sender_is_pro": facts.sender_is_pro,
        "sender_new_account": facts.sender_new_account,
        "sources": [source],
        "report_count": 1 if source == "report" else 0,
        "report_weight": report_weight,
        "version": 1,
        "opened_at": now,
        "due_at": due_at_for(priority, facts.verdict, now),
        "created_at": now,
        "updated_at": now,
    }


def _bump(
    session: Session, submission_id: str, revision: int, source: str, report_weight: float, now: datetime
) -> ReviewItem:
    # Increment in SQL first: it takes the row's write lock, so the read below is not stale.
    session.execute(
        update(ReviewItem)
        .where(ReviewItem.submission_id == submission_id)
        .values(
            report_count=ReviewItem.report_count + (1 if source == "report" else 0),
            report_weight=ReviewItem.report_weight + report_weight,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    item = session.scalars(
        select(ReviewItem)
        .where(ReviewItem.submission_id == submission_id)
        .execution_options(populate_existing=True)
    ).one()
    submission = session.get(Submission, submission_id)
    assert submission is not None
    newer = revision > item.revision
    facts = _facts(session, submission, max(revision, item.revision))
    reopen = item.status != OPEN and (newer or (item.status == NEEDS_INFO and source == "report"))
    before = {"status": item.status, "priority": item.priority, "revision": item.revision}
    item.revision = max(revision, item.revision)
    if facts.verdict is not None:
        item.score, item.verdict, item.categories = facts.score, facts.verdict, facts.categories
    item.lang = item.lang or facts.lang
    item.sender_new_account = item.sender_new_account or facts.sender_new_account
    if source not in item.sources:
        item.sources = [*item.sources, source]
    item.priority = compute_priority(
        item.score, item.verdict, item.categories, item.report_weight, item.sender_new_account
    )
    if reopen:
        item.status = OPEN
        item.opened_at = now
        item.claimed_by = None
        item.lease_expires_at = None
        item.decided_at = None
        item.appeal_text = item.appeal_at = item.appeal_excluded_moderator = None
        item.due_at = due_at_for(item.priority, item.verdict, now)
    item.sort_key = sort_key(item.priority, item.opened_at)
    item.version += 1
    session.flush()
    audit.record(
        session,
        audit.SYSTEM_ACTOR,
        "review_item.reopened" if reopen else "review_item.bumped",
        "submission",
        submission_id,
        {
            "item_id": item.id,
            "source": source,
            "before": before,
            "after": {"status": item.status, "priority": item.priority, "revision": item.revision},
        },
    )
    return item


def _load(session: Session, item_id: str) -> ReviewItem:
    item = session.scalars(
        select(ReviewItem).where(ReviewItem.id == item_id).execution_options(populate_existing=True)
    ).one_or_none()
    if item is None:
        raise NotFound("review_item", item_id)
    return item


def get_item(session: Session, item_id: str) -> ReviewItem:
    """The item as stored now (never a stale identity-map copy). Raises NotFound."""
    return _load(session, item_id)


def moderator_actor(moderator: Moderator) -> str:
    """The audit actor string of a moderator (their id; names and e-mails stay out of the audit)."""
    return f"moderator:{moderator.id}"


def free_or_held_by(moderator_id: str, now: datetime) -> Any:
    return or_(
        ReviewItem.claimed_by.is_(None),
        ReviewItem.claimed_by == moderator_id,
        ReviewItem.lease_expires_at < now,
    )


def workable_by(moderator: Moderator) -> Any:
    clauses = [
        or_(
            ReviewItem.appeal_excluded_moderator.is_(None),
            ReviewItem.appeal_excluded_moderator != moderator.id,
        )
    ]
    if not moderator.is_senior:
        clauses.append(ReviewItem.queue == STANDARD_QUEUE)
    return and_(*clauses)


def explain_refusal(item: ReviewItem, moderator: Moderator, now: datetime) -> ReviewError:
    """The precise reason a conditional update on `item` matched no row for `moderator`."""
    if item.status != OPEN:
        return StateConflict(item.id, item.status, f"item {item.id} is {item.status}, not open")
    if item.queue == SENIOR_QUEUE and not moderator.is_senior:
        return NotPermitted(item.id, "the item is escalated to the senior queue")
    if item.appeal_excluded_moderator == moderator.id:
        return NotPermitted(item.id, "a decision under appeal is reviewed by a different moderator")
    held_by = holder(item, now)
    if held_by is not None and held_by != moderator.id:
        return ClaimConflict(item.id, held_by, item.lease_expires_at)
    return StateConflict(item.id, item.status, f"item {item.id} changed concurrently")


def claim(
    session: Session, item_id: str, moderator: Moderator, now: datetime, lease: timedelta
) -> ReviewItem:
    """Take (or renew) the item's lease for `moderator` until now + lease.

    Exactly one of several concurrent claimants wins; the others get ClaimConflict. An expired
    lease counts as free. Raises NotFound, ClaimConflict, NotPermitted, StateConflict. Does not commit.
    """
    result = session.execute(
        update(ReviewItem)
        .where(
            ReviewItem.id == item_id,
            ReviewItem.status == OPEN,
            free_or_held_by(moderator.id, now),
            workable_by(moderator),
        )
        .values(
            claimed_by=moderator.id,
            lease_expires_at=now + lease,
            version=ReviewItem.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    item = _load(session, item_id)
    if getattr(result, "rowcount", 0) != 1:
        raise explain_refusal(item, moderator, now)
    audit.record(
        session,
        moderator_actor(moderator),
        "review_item.claimed",
        "submission",
        item.submission_id,
        {
            "item_id": item.id,
            "lease_expires_at": item.lease_expires_at.isoformat() if item.lease_expires_at else None,
        },
    )
    return item


def release(session: Session, item_id: str, moderator: Moderator, now: datetime) -> ReviewItem:
    """Give the item back to the pool. Only its holder (or a senior) may; releasing a free item is a
    no-op. Raises NotFound, ClaimConflict. Does not commit."""
    condition = (
        ReviewItem.id == item_id
        if moderator.is_senior
        else and_(ReviewItem.id == item_id, free_or_held_by(moderator.id, now))
    )
    result = session.execute(
        update(ReviewItem)
        .where(condition, ReviewItem.claimed_by.is_not(None))
        .values(claimed_by=None, lease_expires_at=None, version=ReviewItem.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    item = _load(session, item_id)
    if getattr(result, "rowcount", 0) == 1:
        audit.record(
            session, moderator_actor(moderator), "review_item.released", "submission", item.submission_id,
            {"item_id": item.id},
        )  # fmt: skip
    elif (held_by := holder(item, now)) is not None and held_by != moderator.id:
        raise ClaimConflict(item.id, held_by, item.lease_expires_at)
    return item


def assign(
    session: Session,
    item_id: str,
    assignee: Moderator,
    by: Moderator,
    now: datetime,
    lease: timedelta,
) -> ReviewItem:
    """Hand the item to `assignee` (it becomes their claim). A senior may take it from its holder;
    anyone else only assigns a free item or one they hold. Raises NotFound, ClaimConflict,
    NotPermitted, StateConflict. Does not commit."""
    conditions = [ReviewItem.id == item_id, ReviewItem.status == OPEN, workable_by(assignee)]
    if not by.is_senior:
        conditions.append(free_or_held_by(by.id, now))
    result = session.execute(
        update(ReviewItem)
        .where(*conditions)
        .values(
            claimed_by=assignee.id,
            assigned_to=assignee.id,
            lease_expires_at=now + lease,
            version=ReviewItem.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    item = _load(session, item_id)
    if getattr(result, "rowcount", 0) != 1:
        refusal = explain_refusal(item, assignee, now)
        if not isinstance(refusal, NotPermitted):
            refusal = explain_refusal(item, by, now)
        raise refusal
    audit.record(
        session, moderator_actor(by), "review_item.assigned", "submission", item.submission_id,
        {"item_id": item.id, "assignee": assignee.id},
    )  # fmt: skip
    return item


def escalate(session: Session, item_id: str, moderator: Moderator, note: str, now: datetime) -> ReviewItem:
    """Move the item to the senior queue (released, SLA unchanged) with the moderator's note.

    Raises NotFound, ClaimConflict (someone else holds it), StateConflict. Does not commit.
    """
    result = session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item_id, ReviewItem.status == OPEN, free_or_held_by(moderator.id, now))
        .values(
            queue=SENIOR_QUEUE,
            escalation_note=note[:2000],
            claimed_by=None,
            lease_expires_at=None,
            version=ReviewItem.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    item = _load(session, item_id)
    if getattr(result, "rowcount", 0) != 1:
        if item.status != OPEN:
            raise StateConflict(item.id, item.status, f"item {item.id} is {item.status}, not open")
        raise ClaimConflict(item.id, holder(item, now) or "", item.lease_expires_at)
    audit.record(
        session, moderator_actor(moderator), "review_item.escalated", "submission", item.submission_id,
        {"item_id": item.id, "before": {"queue": STANDARD_QUEUE}, "after": {"queue": SENIOR_QUEUE}},
    )  # fmt: skip
    return item


@dataclass(frozen=True)
class ItemFilter:
    """Listing filters; None means "any". `sender_type` is "pro" or "individual"."""

    status: str | None = OPEN
    queue: str | None = None
    category: str | None = None
    kind: str | None = None
    lang: str | None = None
    sender_type: str | None = None
    available_to: Moderator | None = None  # only items this moderator could claim now


def _filtered(flt: ItemFilter, now: datetime) -> Any:
    stmt = select(ReviewItem)
    if flt.status:
        stmt = stmt.where(ReviewItem.status == flt.status)
    if flt.queue:
        stmt = stmt.where(ReviewItem.queue == flt.queue)
    if flt.kind:
        stmt = stmt.where(ReviewItem.kind == flt.kind)
    if flt.lang:
        stmt = stmt.where(ReviewItem.lang == flt.lang)
    if flt.category:
        # JSON list stored as text on both databases: match the quoted value, not a substring.
        stmt = stmt.where(cast(ReviewItem.categories, String).like(f'%"{_like_escape(flt.category)}"%'))
    if flt.sender_type == "pro":
        stmt = stmt.where(ReviewItem.sender_is_pro.is_(True))
    elif flt.sender_type == "individual":
        stmt = stmt.where(or_(ReviewItem.sender_is_pro.is_(None), ReviewItem.sender_is_pro.is_(False)))
    if flt.available_to is not None:
        stmt = stmt.where(free_or_held_by(flt.available_to.id, now), workable_by(flt.available_to))
    return stmt


def _like_escape(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum() or ch == "_")


def encode_cursor(item: ReviewItem) -> str:
    """Opaque keyset cursor: the position right after `item` in queue order."""
    raw = f"{item.sort_key!r}|{item.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """Inverse of `encode_cursor`; raises ValueError on a malformed cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        key, _, item_id = raw.partition("|")
        return float(key), item_id
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        raise ValueError("malformed cursor") from exc


def list_items(
    session: Session, flt: ItemFilter, now: datetime, limit: int = 50, cursor: str | None = None
) -> tuple[list[ReviewItem], str | None]:
    """Items matching `flt`, highest effective priority first, and the cursor of the next page.

    Keyset pagination on (sort_key, id): stable while items are added or decided between pages.
    Raises ValueError for a malformed cursor.
    """
    stmt = _filtered(flt, now)
    if cursor:
        key, item_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(ReviewItem.sort_key < key, and_(ReviewItem.sort_key == key, ReviewItem.id < item_id))
        )
    rows = list(
        session.scalars(stmt.order_by(ReviewItem.sort_key.desc(), ReviewItem.id.desc()).limit(limit + 1))
    )
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def next_item_for(
    session: Session, moderator: Moderator, now: datetime, after: str | None = None
) -> str | None:
    """Id of the highest-priority open item `moderator` could claim now (other than `after`)."""
    stmt = _filtered(ItemFilter(available_to=moderator), now)
    if after:
        stmt = stmt.where(ReviewItem.id != after)
    row = session.scalars(stmt.order_by(ReviewItem.sort_key.desc(), ReviewItem.id.desc()).limit(1)).first()
    return row.id if row is not None else None


@dataclass(frozen=True)
class QueueCounts:
    open: int
    senior: int
    overdue: int
    claimed: int
    by_category: dict[str, int]


def queue_counts(session: Session, now: datetime) -> QueueCounts:
    """Counts of open items: total, in the senior queue, past their SLA, claimed, per category."""
    rows = session.execute(
        select(ReviewItem.queue, ReviewItem.due_at, ReviewItem.claimed_by, ReviewItem.lease_expires_at,
               ReviewItem.categories).where(ReviewItem.status == OPEN)
    ).all()  # fmt: skip
    by_category: dict[str, int] = {}
    for row in rows:
        for category in row.categories or ["uncategorised"]:
            by_category[category] = by_category.get(category, 0) + 1
    return QueueCounts(
        open=len(rows),
        senior=sum(r.queue == SENIOR_QUEUE for r in rows),
        overdue=sum(r.due_at < now for r in rows),
        claimed=sum(r.claimed_by is not None and r.lease_expires_at is not None and r.lease_expires_at > now
                    for r in rows),
        by_category=dict(sorted(by_category.items(), key=lambda kv: -kv[1])),
    )  # fmt: skip


def count_open(session: Session) -> int:
    """Number of open items (cheap; for gauges)."""
    return int(session.scalar(select(func.count()).where(ReviewItem.status == OPEN)) or 0)
