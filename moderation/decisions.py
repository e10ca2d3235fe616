"""Moderator decisions: reason codes, the actions they trigger, labels for training, undo within a
short window, and the sender's appeal (decided by a different moderator, with a statement of
reasons sent back).

Every decision, in ONE transaction: the item leaves the queue (conditional UPDATE honouring the
caller's version, so a concurrent change is a VersionConflict, never a silent overwrite), a
`Decision` row, a `Label` row (scam / not_scam), an audit event with before/after, a
`decision.created` event in the webhook outbox, and the registered listeners (user-facing
warnings live in another module and plug in through `on_decision_listeners`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from moderation import audit, webhooks
from moderation.errors import ModerationError, NotFound
from moderation.models import Submission
from moderation.review import (
    DECIDED,
    NEEDS_INFO,
    OPEN,
    SLA_APPEAL,
    NotPermitted,
    StateConflict,
    VersionConflict,
    explain_refusal,
    free_or_held_by,
    get_item,
    moderator_actor,
    sort_key,
    workable_by,
)
from moderation.review_models import Decision, Label, Moderator, ReviewItem

CONFIRM_SCAM, NOT_SCAM, NEEDS_INFO_DECISION = "confirm_scam", "not_scam", "needs_info"
DECISION_CREATED = "decision.created"
DECISION_UNDONE = "decision.undone"

# Reason codes per decision, with the plain words shown to moderators and sent to senders (fr, en).
REASONS: dict[str, dict[str, tuple[str, str]]] = {
    CONFIRM_SCAM: {
        "external_payment": ("Paiement hors plateforme demandé", "Off-platform payment requested"),
        "fake_payment_page": ("Faux site de paiement sécurisé", "Fake secure-payment page"),
        "fake_delivery": ("Faux service de livraison", "Fake delivery service"),
        "phishing": ("Lien ou domaine frauduleux", "Fraudulent link or domain"),
        "off_platform": ("Sortie de la plateforme pour escroquer", "Move off the platform to scam"),
        "advance_fee": ("Avance de frais / trop-perçu", "Advance fee or overpayment story"),
        "account_takeover": ("Demande de code, pièce d'identité ou carte", "Asks for a code, ID or card"),
        "other_scam": ("Autre escroquerie", "Other scam"),
    },
    NOT_SCAM: {
        "legitimate": ("Échange honnête", "Honest exchange"),
        "false_positive_link": ("Lien ou coordonnées légitimes", "Legitimate link or contact details"),
        "professional_seller": ("Vendeur professionnel identifié", "Identified professional seller"),
        "other_legit": ("Autre : pas une escroquerie", "Other: not a scam"),
    },
    NEEDS_INFO_DECISION: {
        "ask_sender": ("Informations demandées à l'expéditeur", "Information requested from the sender"),
        "missing_context": ("Contexte insuffisant", "Not enough context"),
    },
}
_STATUS_AFTER = {CONFIRM_SCAM: DECIDED, NOT_SCAM: DECIDED, NEEDS_INFO_DECISION: NEEDS_INFO}
_LABEL = {CONFIRM_SCAM: "scam", NOT_SCAM: "not_scam"}

DecisionListener = Callable[[Session, Decision], None]
# Called inside the decision's transaction (after the Decision row exists, before commit). A
# listener that raises aborts the whole decision: keep them to database writes in the same session.
on_decision_listeners: list[DecisionListener] = []
# Same contract, when a decision is undone (e.g. to restore a cleared warning).
on_undo_listeners: list[DecisionListener] = []


def register_decision_listener(fn: DecisionListener) -> DecisionListener:
    """Append `fn` to `on_decision_listeners` (usable as a decorator); idempotent."""
    if fn not in on_decision_listeners:
        on_decision_listeners.append(fn)
    return fn


class InvalidDecision(ModerationError):
    """Unknown decision or reason code, or a missing required field (`field` names it)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class UndoExpired(ModerationError):
    """The undo window of the decision has passed, or it was superseded."""

    def __init__(self, decision_id: int, message: str) -> None:
        self.decision_id = decision_id
        super().__init__(message)


def reason_label(decision: str, reason: str, lang: str = "fr") -> str:
    """Plain words for a reason code in French (default) or English; the code itself if unknown."""
    fr, en = REASONS.get(decision, {}).get(reason, (reason, reason))
    return en if lang == "en" else fr


def _actions(decision: str, verdict: str | None, suspend_sender: bool) -> dict[str, bool]:
    if decision == CONFIRM_SCAM:
        return {"remove_content": True, "warn_recipient": True, "suspend_sender": suspend_sender}
    if decision == NOT_SCAM:
        return {"release_message": verdict == "hold", "clear_warning": True}
    return {"request_information": True}


def decide(
    session: Session,
    item_id: str,
    moderator: Moderator,
    decision: str,
    reason: str,
    now: datetime,
    *,
    expected_version: int | None = None,
    note: str | None = None,
    suspend_sender: bool = False,
    statement: str | None = None,
    emit_webhook: bool = True,
) -> Decision:
    """Decide an open item and return the Decision. Does not commit.

    The moderator must hold the item's claim, or the item must be free (deciding claims it
    implicitly). With `expected_version`, an item changed since it was read raises
    VersionConflict. On an appeal, `statement` (the reasons sent back to the sender) defaults to
    the reason's plain words. Raises InvalidDecision, NotFound, VersionConflict, ClaimConflict,
    NotPermitted, StateConflict.
    """
    if decision not in REASONS:
        raise InvalidDecision("decision", f"decision must be one of {', '.join(REASONS)}")
    if reason not in REASONS[decision]:
        raise InvalidDecision("reason", f"reason must be one of {', '.join(REASONS[decision])}")
    conditions = [
        ReviewItem.id == item_id,
        ReviewItem.status == OPEN,
        free_or_held_by(moderator.id, now),
        workable_by(moderator),
    ]
    if expected_version is not None:
        conditions.append(ReviewItem.version == expected_version)
    result = session.execute(
        update(ReviewItem)
        .where(*conditions)
        .values(
            status=_STATUS_AFTER[decision],
            claimed_by=None,
            lease_expires_at=None,
            decided_at=now,
            updated_at=now,
            version=ReviewItem.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    item = get_item(session, item_id)
    if getattr(result, "rowcount", 0) != 1:
        if expected_version is not None and item.version != expected_version:
            raise VersionConflict(item.id, expected_version, item.version)
        raise explain_refusal(item, moderator, now)
    on_appeal = item.appeal_text is not None
    if on_appeal and not statement:
        statement = reason_label(decision, reason, item.lang or "fr")
    row = Decision(
        item_id=item.id,
        submission_id=item.submission_id,
        revision=item.revision,
        moderator_id=moderator.id,
        decision=decision,
        reason=reason,
        note=(note or None) and note[:2000],
        actions=_actions(decision, item.verdict, suspend_sender),
        categories=list(item.categories),
        on_appeal=on_appeal,
        statement=statement[:4000] if on_appeal and statement else None,
        created_at=now,
    )
    session.add(row)
    session.flush()
    item.last_decision_id = row.id
    if decision in _LABEL:
        session.add(
            Label(
                submission_id=item.submission_id,
                revision=item.revision,
                label=_LABEL[decision],
                moderator_id=moderator.id,
                decision_id=row.id,
                at=now,
            )
        )
    audit.record(
        session,
        moderator_actor(moderator),
        DECISION_CREATED,
        "submission",
        item.submission_id,
        {
            "item_id": item.id,
            "decision_id": row.id,
            "decision": decision,
            "reason": reason,
            "on_appeal": on_appeal,
            "actions": row.actions,
            "before": {"status": OPEN, "version": item.version - 1},
            "after": {"status": item.status, "version": item.version},
        },
    )
    if emit_webhook:
        webhooks.add_event(session, DECISION_CREATED, item.submission_id, _event(session, item, row), now=now)
    session.flush()
    for listener in list(on_decision_listeners):
        listener(session, row)
    return row


def _event(session: Session, item: ReviewItem, row: Decision) -> dict[str, Any]:
    submission = session.get(Submission, item.submission_id)
    data: dict[str, Any] = {
        "decision_id": row.id,
        "item_id": item.id,
        "submission_id": item.submission_id,
        "kind": item.kind,
        "external_id": submission.external_id if submission else None,
        "conversation_id": submission.conversation_id if submission else None,
        "sender_id": item.sender_id,
        "revision": row.revision,
        "decision": row.decision,
        "reason": row.reason,
        "reason_text": {"fr": reason_label(row.decision, row.reason, "fr"),
                        "en": reason_label(row.decision, row.reason, "en")},
        "actions": row.actions,
        "categories": row.categories,
        "decided_at": row.created_at.isoformat(),
    }  # fmt: skip
    if row.on_appeal:
        data["appeal"] = {
            "outcome": "upheld" if row.decision == CONFIRM_SCAM else "overturned",
            "statement": row.statement,
        }
    return data


def undo(
    session: Session, decision_id: int, moderator: Moderator, now: datetime, window: timedelta
) -> ReviewItem:
    """Undo a decision made less than `window` ago by this moderator (or any, for a senior).

    The item reopens, claimed by the undoer so they can decide again at once; the label is
    retracted; the platform gets a `decision.undone` event. Raises NotFound, UndoExpired,
    NotPermitted. Does not commit.
    """
    row = session.get(Decision, decision_id)
    if row is None:
        raise NotFound("decision", str(decision_id))
    if row.moderator_id != moderator.id and not moderator.is_senior:
        raise NotPermitted(row.item_id, "only the deciding moderator or a senior can undo")
    if row.undone_at is not None or now - row.created_at > window:
        raise UndoExpired(decision_id, "the undo window of this decision has passed")
    result = session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == row.item_id, ReviewItem.last_decision_id == row.id, ReviewItem.status != OPEN)
        .values(
            status=OPEN,
            claimed_by=moderator.id,
            lease_expires_at=now + window,
            decided_at=None,
            last_decision_id=None,
            updated_at=now,
            version=ReviewItem.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise UndoExpired(decision_id, "the decision was superseded")
    row.undone_at = now
    row.undone_by = moderator.id
    for label in session.scalars(select(Label).where(Label.decision_id == row.id)):
        label.retracted_at = now
    item = get_item(session, row.item_id)
    audit.record(
        session,
        moderator_actor(moderator),
        DECISION_UNDONE,
        "submission",
        item.submission_id,
        {"item_id": item.id, "decision_id": row.id, "decision": row.decision,
         "before": {"status": _STATUS_AFTER[row.decision]}, "after": {"status": OPEN}},
    )  # fmt: skip
    webhooks.add_event(
        session,
        DECISION_UNDONE,
        item.submission_id,
        {"decision_id": row.id, "item_id": item.id, "submission_id": item.submission_id,
         "decision": row.decision, "reverted_actions": row.actions, "undone_at": now.isoformat()},
        now=now,
    )  # fmt: skip
    session.flush()
    for listener in list(on_undo_listeners):
        listener(session, row)
    return item


def appeal(session: Session, item_id: str, text: str, actor: str, now: datetime) -> ReviewItem:
    """Reopen an item whose scam confirmation the sender contests, with their text.

    The appeal goes back to the queue, out of reach of the moderator who decided (a different
    moderator must decide it), with a 48-hour SLA. One appeal per decision. Raises NotFound,
    InvalidDecision (empty text), StateConflict (not decided as a scam, or already appealed).
    Does not commit.
    """
    text = text.strip()
    if not text:
        raise InvalidDecision("text", "the appeal text is empty")
    item = get_item(session, item_id)
    last = session.get(Decision, item.last_decision_id) if item.last_decision_id else None
    if item.status != DECIDED or last is None or last.decision != CONFIRM_SCAM:
        raise StateConflict(item.id, item.status, "only a confirmed scam decision can be appealed")
    if last.on_appeal or item.appeal_at is not None:
        raise StateConflict(item.id, item.status, "this decision has already been appealed")
    result = session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item.id, ReviewItem.status == DECIDED, ReviewItem.last_decision_id == last.id,
               ReviewItem.appeal_at.is_(None))
        .values(
            status=OPEN,
            appeal_text=text[:4000],
            appeal_at=now,
            appeal_excluded_moderator=last.moderator_id,
            opened_at=now,
            due_at=now + SLA_APPEAL,
            sort_key=sort_key(item.priority, now),
            claimed_by=None,
            lease_expires_at=None,
            decided_at=None,
            sources=[*item.sources, "appeal"] if "appeal" not in item.sources else item.sources,
            updated_at=now,
            version=ReviewItem.version + 1,
        )
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if getattr(result, "rowcount", 0) != 1:
        raise StateConflict(item.id, item.status, "the item changed concurrently; retry")
    item = get_item(session, item.id)
    audit.record(
        session,
        actor,
        "appeal.opened",
        "submission",
        item.submission_id,
        {
            "item_id": item.id,
            "decision_id": last.id,
            "before": {"status": DECIDED},
            "after": {"status": OPEN},
        },
    )
    return item


def decisions_for(session: Session, submission_ids: list[str]) -> list[Decision]:
    """Decisions about these submissions, newest first (undone ones included: check `undone_at`)."""
    if not submission_ids:
        return []
    return list(
        session.scalars(
            select(Decision)
            .where(Decision.submission_id.in_(submission_ids))
            .order_by(Decision.created_at.desc(), Decision.id.desc())
        )
    )


def last_decision(session: Session, item: ReviewItem) -> Decision | None:
    """The item's current decision (None while open or after an undo)."""
    return session.get(Decision, item.last_decision_id) if item.last_decision_id else None
