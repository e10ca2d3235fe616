"""The confirmed-scam block list, fed by moderator decisions, with expiry and allow-list overrides.

When a moderator confirms a scam, `BlocklistRecorder` (a decision listener, installed by the
composition roots through `install`) lists every indexable entity of the decided content (payment
handles, IBANs, wallets, phones, e-mails, domains: `scoring.entity_keys`) and the sender's account,
each for `ttl` (entities get reused by other scammers, then recycled by honest people: a block that
never expires would punish the next owner of a phone number). Undoing the decision revokes exactly
the rows it created. A moderator's allow entry overrides every block entry of its key while active.

The database is the record: workers read it per batch (`active_blocks`), so a decision counts for
the very next message, and nothing is lost when Redis is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from moderation import decisions
from moderation.clock import utcnow
from moderation.models import SubmissionRevision
from moderation.review_models import Decision
from moderation.signal_models import ListedEntity
from moderation.submissions import to_score_input
from scoring.entity_keys import indexable_entities

BLOCK, ALLOW = "block", "allow"
ACCOUNT_KIND = "account"
SYSTEM_ACTOR = "system:blocklist"


def account_key(sender_id: str) -> str:
    """The block-list key of a sender account."""
    return f"{ACCOUNT_KIND}:{sender_id}"


@dataclass(frozen=True)
class BlockHit:
    """An entity key under an active block (and no active allow)."""

    key: str
    entries: int  # active block rows: how many confirmed decisions name it
    category: str | None  # of the latest entry
    decision_id: int | None  # of the latest entry
    expires_at: datetime | None  # of the latest entry

    def detail(self) -> dict[str, str]:
        """Evidence for a reason's `detail` (strings only: it is stored and sent as JSON)."""
        out = {"confirmed_decisions": str(self.entries)}
        if self.decision_id is not None:
            out["decision_id"] = str(self.decision_id)
        if self.expires_at is not None:
            out["expires_at"] = self.expires_at.isoformat()
        return out


def _active(now: datetime) -> ColumnElement[bool]:
    return and_(
        ListedEntity.revoked_at.is_(None),
        or_(ListedEntity.expires_at.is_(None), ListedEntity.expires_at > now),
    )


def record_confirmed(session: Session, decision: Decision, ttl: timedelta, now: datetime) -> int:
    """List the entities and sender of a `confirm_scam` decision's content; returns rows added.

    Does nothing for other decisions. Does not commit (runs inside the decision's transaction).
    """
    if decision.decision != decisions.CONFIRM_SCAM:
        return 0
    revision = session.scalar(
        select(SubmissionRevision).where(
            SubmissionRevision.submission_id == decision.submission_id,
            SubmissionRevision.revision == decision.revision,
        )
    )
    if revision is None:
        return 0
    item = to_score_input(revision)
    category = str(decision.categories[0]) if decision.categories else None
    keys: list[tuple[str, str]] = [(e.key, e.kind) for e in indexable_entities(item)]
    if item.sender is not None and item.sender.id:
        keys.append((account_key(item.sender.id), ACCOUNT_KIND))
    for key, kind in keys:
        session.add(
            ListedEntity(
                entity_key=key[:300],
                list_name=BLOCK,
                kind=kind,
                category=category,
                sender_id=item.sender.id if item.sender else None,
                submission_id=decision.submission_id,
                decision_id=decision.id,
                actor=f"moderator:{decision.moderator_id}",
                created_at=now,
                expires_at=now + ttl,
            )
        )
    session.flush()
    return len(keys)


def revoke_decision(session: Session, decision_id: int, now: datetime) -> int:
    """Revoke the block rows a decision created (it was undone); returns rows revoked. No commit."""
    result = session.execute(
        update(ListedEntity)
        .where(ListedEntity.decision_id == decision_id, ListedEntity.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def allow(
    session: Session,
    key: str,
    actor: str,
    now: datetime,
    *,
    expires_at: datetime | None = None,
    note: str | None = None,
) -> ListedEntity:
    """Allow-list `key` (see `scoring.entity_keys.key_of`): it stops counting as blocked while the
    entry is active (until `expires_at`, or revocation). Does not commit."""
    kind = key.split(":", 1)[0]
    row = ListedEntity(
        entity_key=key[:300],
        list_name=ALLOW,
        kind=kind[:16],
        actor=actor[:200],
        note=note,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row


def revoke_allow(session: Session, key: str, now: datetime) -> int:
    """End every active allow entry of `key`; returns how many. Does not commit."""
    result = session.execute(
        update(ListedEntity)
        .where(ListedEntity.entity_key == key, ListedEntity.list_name == ALLOW, _active(now))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Listing:
    """The list status of a set of keys at one instant."""

    blocks: dict[str, BlockHit]  # blocked and not allowed
    allowed: frozenset[str]  # under an active allow entry (blocked or not)


def lookup(session: Session, keys: Iterable[str], now: datetime) -> Listing:
    """Which of `keys` are blocked (and not allowed) or allowed at `now`: one indexed query."""
    wanted = sorted({k[:300] for k in keys})
    if not wanted:
        return Listing({}, frozenset())
    rows = session.execute(
        select(
            ListedEntity.entity_key,
            ListedEntity.list_name,
            ListedEntity.category,
            ListedEntity.decision_id,
            ListedEntity.expires_at,
        )
        .where(ListedEntity.entity_key.in_(wanted), _active(now))
        .order_by(ListedEntity.created_at, ListedEntity.id)
    ).all()
    allowed = frozenset(key for key, list_name, *_ in rows if list_name == ALLOW)
    hits: dict[str, BlockHit] = {}
    for key, list_name, category, decision_id, expires_at in rows:
        if list_name != BLOCK or key in allowed:
            continue
        previous = hits.get(key)
        entries = (previous.entries if previous else 0) + 1
        hits[key] = BlockHit(key, entries, category, decision_id, expires_at)
    return Listing(hits, allowed)


def active_blocks(session: Session, keys: Iterable[str], now: datetime) -> dict[str, BlockHit]:
    """The keys among `keys` that are blocked at `now` and not allowed."""
    return lookup(session, keys, now).blocks


def count_active(session: Session, now: datetime) -> int:
    """Active block rows (for metrics and tests)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(ListedEntity)
            .where(ListedEntity.list_name == BLOCK, _active(now))
        )
        or 0
    )


@dataclass(frozen=True)
class BlocklistRecorder:
    """Decision and undo listener (value-equal, so installing twice registers it once)."""

    ttl: timedelta

    def on_decision(self, session: Session, decision: Decision) -> None:
        record_confirmed(session, decision, self.ttl, decision.created_at or utcnow())

    def on_undo(self, session: Session, decision: Decision) -> None:
        revoke_decision(session, decision.id, decision.undone_at or utcnow())


_recorders: dict[float, BlocklistRecorder] = {}


def install(ttl_days: float) -> BlocklistRecorder:
    """Register the block-list listeners on `moderation.decisions`; idempotent for the same ttl."""
    # One recorder per ttl: since Python 3.8 bound methods compare their `self` by identity, so two
    # equal recorders would register two listeners (every app created in a process would add one).
    recorder = _recorders.setdefault(ttl_days, BlocklistRecorder(timedelta(days=ttl_days)))
    decisions.register_decision_listener(recorder.on_decision)
    if recorder.on_undo not in decisions.on_undo_listeners:
        decisions.on_undo_listeners.append(recorder.on_undo)
    return recorder
