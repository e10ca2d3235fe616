"""/v1/review (the moderators' queue over HTTP) and /v1/audit.

Every route needs scope `moderate` and, except the audit trail, a key that belongs to a moderator
account (api_keys.moderator_id): decisions are always made by a person. The appeal route is the
platform's (scope `submit`), relaying the sender's text. Item reads carry `ETag: "<version>"`; a
decision honours `If-Match` (or `version` in the body) and answers 409 when the item changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for
from pydantic import BaseModel, ValidationError

from api.auth import actor, requires
from api.problems import FieldError, Problem
from api.request_body import parse_json_body
from api.services import Services, services
from moderation import audit, decisions, review
from moderation.case_file import build_case_file
from moderation.clock import utcnow
from moderation.decisions import InvalidDecision, UndoExpired
from moderation.errors import NotFound
from moderation.moderators import get_moderator, moderator_for_key
from moderation.review import ClaimConflict, NotPermitted, ReviewError, StateConflict, VersionConflict
from moderation.review_models import Decision, Moderator, ReviewItem

bp = Blueprint("review", __name__, url_prefix="/v1")

MAX_PAGE = 200
FILTER_PARAMS = ("status", "queue", "category", "kind", "lang", "sender")


def _current_moderator() -> Moderator:
    principal = g.get("principal")
    moderator = moderator_for_key(services().session(), principal.key_id) if principal else None
    if moderator is None:
        raise Problem(403, "not-a-moderator", "This key does not belong to a moderator account.")
    return moderator


def _parse(model: type[BaseModel], allow_empty: bool = False) -> Any:
    raw = parse_json_body() if (request.content_length or not allow_empty) else {}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        from api.submissions import field_errors

        raise Problem(
            422, "validation-failed", "The request body is not valid.", errors=field_errors(exc)
        ) from None


def review_problem(exc: Exception) -> Problem:
    """The problem+json for a review-domain refusal (shared with the console)."""
    if isinstance(exc, NotFound):
        return Problem(404, "not-found", f"No {exc.subject_type} with this id.")
    if isinstance(exc, ClaimConflict):
        return Problem(
            409,
            "claimed-by-another",
            "Another moderator holds this item.",
            extensions={"lease_expires_at": _iso(exc.lease_expires_at)},
        )
    if isinstance(exc, VersionConflict):
        return Problem(
            409,
            "version-conflict",
            "The item changed since you read it; reload it and decide again.",
            extensions={"current_version": exc.current},
        )
    if isinstance(exc, StateConflict):
        return Problem(409, "state-conflict", str(exc), extensions={"status": exc.status})
    if isinstance(exc, NotPermitted):
        return Problem(403, "not-permitted", str(exc))
    if isinstance(exc, UndoExpired):
        return Problem(409, "undo-expired", str(exc))
    if isinstance(exc, InvalidDecision):
        return Problem(422, "validation-failed", str(exc), errors=[FieldError(exc.field, str(exc))])
    raise exc


@bp.errorhandler(ReviewError)
@bp.errorhandler(NotFound)
@bp.errorhandler(UndoExpired)
@bp.errorhandler(InvalidDecision)
def _domain_error(exc: Exception) -> Response:
    services().session().rollback()
    return review_problem(exc).to_response()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def item_to_dict(item: ReviewItem, now: datetime) -> dict[str, Any]:
    """The JSON form of an item (ReviewItemOut)."""
    return {
        "id": item.id,
        "submission_id": item.submission_id,
        "revision": item.revision,
        "kind": item.kind,
        "status": item.status,
        "queue": item.queue,
        "priority": review.effective_priority(item, now),
        "base_priority": item.priority,
        "score": item.score,
        "verdict": item.verdict,
        "categories": list(item.categories),
        "lang": item.lang,
        "sender": {
            "id": item.sender_id,
            "is_pro": item.sender_is_pro,
            "new_account": item.sender_new_account,
        },
        "report_count": item.report_count,
        "sources": list(item.sources),
        "claimed_by": review.holder(item, now),
        "lease_expires_at": _iso(item.lease_expires_at) if review.holder(item, now) else None,
        "assigned_to": item.assigned_to,
        "opened_at": item.opened_at.isoformat(),
        "due_at": item.due_at.isoformat(),
        "overdue": item.status == review.OPEN and item.due_at < now,
        "escalation_note": item.escalation_note,
        "appeal": {"text": item.appeal_text, "at": _iso(item.appeal_at)} if item.appeal_text else None,
        "last_decision_id": item.last_decision_id,
        "version": item.version,
    }


def decision_to_dict(row: Decision, item_version: int, undo_window: timedelta) -> dict[str, Any]:
    """The JSON form of a decision (DecisionOut)."""
    return {
        "id": row.id,
        "item_id": row.item_id,
        "submission_id": row.submission_id,
        "revision": row.revision,
        "moderator_id": row.moderator_id,
        "decision": row.decision,
        "reason": row.reason,
        "reason_text": {
            "fr": decisions.reason_label(row.decision, row.reason, "fr"),
            "en": decisions.reason_label(row.decision, row.reason, "en"),
        },
        "actions": row.actions,
        "on_appeal": row.on_appeal,
        "statement": row.statement,
        "created_at": row.created_at.isoformat(),
        "undo_until": (row.created_at + undo_window).isoformat(),
        "item_version": item_version,
    }


def _item_response(item: ReviewItem, now: datetime, status: int = 200, detail: bool = False) -> Response:
    body = item_to_dict(item, now)
    if detail:
        case = build_case_file(services().session(), item)
        body["content"] = {
            "text": case.text,
            "title": case.title,
            "conversation_id": case.submission.conversation_id,
            "external_id": case.submission.external_id,
        }
        body["reasons"] = case.reasons
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = f'"{item.version}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def enqueue_pending_webhooks(svc: Services, submission_id: str) -> None:
    """After a commit that wrote outbox events: hand them to the delivery queue now (the sweeper
    delivers them later if Redis is unavailable). No-op when webhooks are not configured."""
    if not svc.settings.webhook_url:
        return
    from moderation.webhooks import pending_event_ids
    from workers.queues import enqueue_webhook

    with svc.session_factory() as session:
        event_ids = pending_event_ids(session, [submission_id])
    for event_id in event_ids:
        enqueue_webhook(svc.webhook_queue, event_id)


def _lease(svc: Services) -> timedelta:
    return timedelta(seconds=svc.settings.review_lease_s)


@bp.get("/review/items")
@requires("moderate")
def list_items() -> Response:
    """The queue, highest priority first, filtered and paginated by `cursor`."""
    _current_moderator()
    args = request.args
    status = args.get("status", "open")
    if status not in {"open", "decided", "needs_info", "any"}:
        raise Problem(422, "validation-failed", "Unknown status.", errors=[FieldError("status", "unknown")])
    sender = args.get("sender")
    if sender not in {None, "pro", "individual"}:
        raise Problem(
            422, "validation-failed", "Unknown sender type.", errors=[FieldError("sender", "unknown")]
        )
    try:
        limit = max(1, min(MAX_PAGE, int(args.get("limit", 50))))
    except ValueError:
        raise Problem(
            422, "validation-failed", "limit is not a number.", errors=[FieldError("limit", "nan")]
        ) from None
    flt = review.ItemFilter(
        status=None if status == "any" else status,
        queue=args.get("queue") or None,
        category=args.get("category") or None,
        kind=args.get("kind") or None,
        lang=args.get("lang") or None,
        sender_type=sender,
    )
    now = utcnow()
    try:
        items, cursor = review.list_items(services().session(), flt, now, limit, args.get("cursor") or None)
    except ValueError:
        raise Problem(
            422, "validation-failed", "Malformed cursor.", errors=[FieldError("cursor", "malformed")]
        ) from None
    return jsonify({"items": [item_to_dict(i, now) for i in items], "next_cursor": cursor})


@bp.get("/review/items/<item_id>")
@requires("moderate")
def get_item(item_id: str) -> Response:
    """One item with its content and the scorer's reasons; `ETag` is its version."""
    _current_moderator()
    item = review.get_item(services().session(), item_id)
    if request.if_none_match and request.if_none_match.contains(str(item.version)):
        return Response(status=304, headers={"ETag": f'"{item.version}"'})
    return _item_response(item, utcnow(), detail=True)


@bp.post("/review/items/<item_id>/claim")
@requires("moderate")
def claim(item_id: str) -> Response:
    """Take the item's lease (409 when another moderator holds it)."""
    svc, moderator, now = services(), _current_moderator(), utcnow()
    session = svc.session()
    item = review.claim(session, item_id, moderator, now, _lease(svc))
    session.commit()
    return _item_response(item, now)


@bp.post("/review/items/<item_id>/release")
@requires("moderate")
def release(item_id: str) -> Response:
    """Give the item back to the pool."""
    svc, moderator, now = services(), _current_moderator(), utcnow()
    session = svc.session()
    item = review.release(session, item_id, moderator, now)
    session.commit()
    return _item_response(item, now)


@bp.post("/review/items/<item_id>/assign")
@requires("moderate")
def assign(item_id: str) -> Response:
    """Hand the item to another moderator (it becomes their claim)."""
    from api.review_schemas import AssignIn

    svc, moderator, now = services(), _current_moderator(), utcnow()
    body = _parse(AssignIn)
    session = svc.session()
    assignee = get_moderator(session, body.moderator_id)
    if assignee is None:
        raise Problem(
            422, "validation-failed", "No such moderator.", errors=[FieldError("moderator_id", "unknown")]
        )
    item = review.assign(session, item_id, assignee, moderator, now, _lease(svc))
    session.commit()
    return _item_response(item, now)


@bp.post("/review/items/<item_id>/escalate")
@requires("moderate")
def escalate(item_id: str) -> Response:
    """Send the item to the senior queue with a note."""
    from api.review_schemas import EscalateIn

    svc, moderator, now = services(), _current_moderator(), utcnow()
    body = _parse(EscalateIn, allow_empty=True)
    session = svc.session()
    item = review.escalate(session, item_id, moderator, body.note, now)
    session.commit()
    return _item_response(item, now)


def _expected_version(body_version: int | None) -> int | None:
    header = request.headers.get("If-Match")
    if header is None:
        return body_version
    tag = header.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Problem(400, "malformed-request", 'If-Match must be the item\'s ETag, e.g. "3".')
    if body_version is not None and body_version != int(tag):
        raise Problem(
            422, "validation-failed", "If-Match and version disagree.", errors=[FieldError("version", "")]
        )
    return int(tag)


@bp.post("/review/items/<item_id>/decision")
@requires("moderate")
def decide(item_id: str) -> Response:
    """Decide the item; 409 when it changed since `version` / If-Match, or another moderator holds it."""
    from api.review_schemas import DecisionIn

    svc, moderator, now = services(), _current_moderator(), utcnow()
    body = _parse(DecisionIn)
    session = svc.session()
    row = decisions.decide(
        session,
        item_id,
        moderator,
        body.decision,
        body.reason,
        now,
        expected_version=_expected_version(body.version),
        note=body.note,
        suspend_sender=body.suspend_sender,
        statement=body.statement,
        emit_webhook=bool(svc.settings.webhook_url),
    )
    item = review.get_item(session, item_id)
    session.commit()
    enqueue_pending_webhooks(svc, row.submission_id)
    response = jsonify(
        decision_to_dict(row, item.version, timedelta(seconds=svc.settings.review_undo_window_s))
    )
    response.status_code = 201
    response.headers["ETag"] = f'"{item.version}"'
    response.headers["Location"] = url_for("review.get_item", item_id=item_id)
    return response


@bp.post("/review/decisions/<int:decision_id>/undo")
@requires("moderate")
def undo(decision_id: int) -> Response:
    """Undo a decision within the undo window; the item reopens, claimed by you."""
    svc, moderator, now = services(), _current_moderator(), utcnow()
    session = svc.session()
    item = decisions.undo(
        session, decision_id, moderator, now, timedelta(seconds=svc.settings.review_undo_window_s)
    )
    session.commit()
    enqueue_pending_webhooks(svc, item.submission_id)
    return _item_response(item, now)


@bp.post("/review/items/<item_id>/appeal")
@requires("submit")
def appeal(item_id: str) -> Response:
    """The sender contests a confirmed scam: the item reopens for a different moderator."""
    from api.review_schemas import AppealIn

    body = _parse(AppealIn)
    svc, now = services(), utcnow()
    session = svc.session()
    item = decisions.appeal(session, item_id, body.text, actor(), now)
    session.commit()
    response = jsonify({"item_id": item.id, "status": "appealed", "due_at": item.due_at.isoformat()})
    response.status_code = 202
    return response


@bp.get("/audit")
@requires("moderate")
def audit_trail() -> Response:
    """Audit events about a submission, oldest first; `cursor` is the last event id seen."""
    subject_id = request.args.get("submission_id", "")
    if not subject_id:
        raise Problem(
            422,
            "validation-failed",
            "submission_id is required.",
            errors=[FieldError("submission_id", "required")],
        )
    try:
        after = int(request.args.get("cursor") or 0)
        limit = max(1, min(MAX_PAGE, int(request.args.get("limit", 50))))
    except ValueError:
        raise Problem(422, "validation-failed", "cursor and limit are numbers.") from None
    rows = audit.events_about(services().session(), subject_id, after, limit + 1)
    page = rows[:limit]
    return jsonify(
        {
            "events": [
                {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                 "subject_type": e.subject_type, "subject_id": e.subject_id, "data": e.data}
                for e in page
            ],
            "next_cursor": str(page[-1].id) if len(rows) > limit else None,
        }
    )  # fmt: skip
