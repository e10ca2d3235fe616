"""/v1/messages and /v1/listings: accept content for scoring and read verdicts back.

POST persists the submission (the database is the record of what must be scored), commits,
THEN enqueues the score job; if Redis is down the request still succeeds and the sweeper
enqueues it later. Replays are answered from the database: the same body under the same
external_id returns the same submission (200 with the verdict once scored, 202 before).
`?mode=sync` additionally scores in this process within `settings.sync_budget_ms`.
"""

from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from pydantic import BaseModel, ValidationError

from api.auth import actor, requires
from api.problems import FieldError, Problem
from api.request_body import parse_json_body
from api.schemas import ListingIn, MessageIn
from api.services import Services, services
from moderation.errors import IdempotencyConflict
from moderation.submissions import SubmissionContent, SubmitOutcome, get_submission, submit
from scoring.types import Kind

log = logging.getLogger(__name__)

bp = Blueprint("submissions", __name__, url_prefix="/v1")

_GET_ENDPOINT = {Kind.MESSAGE: "submissions.get_message", Kind.LISTING: "submissions.get_listing"}


@bp.post("/messages")
@requires("submit")
def create_message() -> Response:
    """Submit a buyer–seller message for scoring."""
    return _create(Kind.MESSAGE, MessageIn)


@bp.post("/listings")
@requires("submit")
def create_listing() -> Response:
    """Submit a listing (or a new revision of it) for scoring."""
    return _create(Kind.LISTING, ListingIn)


@bp.get("/messages/<submission_id>")
@requires("read")
def get_message(submission_id: str) -> Response:
    """A message with the assessment of its current revision."""
    return _read(Kind.MESSAGE, submission_id)


@bp.get("/listings/<submission_id>")
@requires("read")
def get_listing(submission_id: str) -> Response:
    """A listing with the assessment of its current revision."""
    return _read(Kind.LISTING, submission_id)


def to_content(kind: Kind, body: BaseModel) -> SubmissionContent:
    """The domain's SubmissionContent of a validated request body."""
    data: dict[str, Any] = body.model_dump(exclude_none=True)
    return SubmissionContent(
        kind=kind,
        external_id=data["external_id"],
        text=data["text"],
        conversation_id=data.get("conversation_id"),
        title=data.get("title"),
        price=data.get("price"),
        category=data.get("category"),
        sender=data.get("sender"),
        recipient=data.get("recipient"),
        lang=data.get("lang"),
    )


def _create(kind: Kind, model: type[BaseModel]) -> Response:
    svc = services()
    mode = request.args.get("mode", "async")
    if mode not in {"async", "sync"}:
        raise Problem(
            422,
            "validation-failed",
            "Unknown mode.",
            errors=[FieldError("mode", "must be 'sync' or 'async'")],
        )
    sync = mode == "sync"
    raw = parse_json_body()
    try:
        body = model.model_validate(raw, context={"max_text_chars": svc.settings.max_text_chars})
    except ValidationError as exc:
        raise Problem(
            422, "validation-failed", "The request body is not valid.", errors=field_errors(exc)
        ) from None
    content = to_content(kind, body)

    session = svc.session()
    try:
        outcome = submit(session, content, actor())
        session.commit()
    except IdempotencyConflict as exc:
        session.rollback()
        raise Problem(
            409,
            "idempotency-conflict",
            f"This {exc.field} was already used with a different body; messages are immutable.",
            errors=[FieldError(exc.field, "already used with a different body")],
            extensions={"existing_id": exc.existing_id},
        ) from None
    svc.metrics.submissions.labels(kind.value, outcome_label(outcome)).inc()

    scored = outcome.status == "scored"
    scored_here = False
    if not scored and sync and outcome.status == "queued":
        scored = scored_here = _score_within_budget(svc, outcome)
    # With batched dispatch the workers' dispatcher claims the committed revision from the database.
    if not scored and outcome.created and svc.settings.dispatch != "batched":
        # After commit: a job never points at a row a rollback could remove.
        from workers.queues import enqueue_score

        if not enqueue_score(svc.queue, outcome.submission_id, outcome.revision):
            svc.metrics.enqueue_failures.inc()

    location = url_for(_GET_ENDPOINT[kind], submission_id=outcome.submission_id)
    if scored:
        session.expire_all()  # the assessment was written by another session
        view = get_submission(session, kind, outcome.submission_id)
        if view is not None:
            payload = view.to_dict()
            if scored_here and payload.get("assessment"):
                svc.metrics.verdicts.labels(payload["assessment"]["verdict"]).inc()
            response = jsonify(payload)
            response.status_code = 200
            response.headers["Location"] = location
            return response
    response = jsonify(
        {
            "id": outcome.submission_id,
            "kind": kind.value,
            "external_id": content.external_id,
            "revision": outcome.revision,
            # "queued"; or "failed" when a replay finds a revision the workers gave up on.
            "status": outcome.status,
        }
    )
    response.status_code = 202
    response.headers["Location"] = location
    return response


def outcome_label(outcome: SubmitOutcome) -> str:
    """The `outcome` label of vigie_submissions_total."""
    if not outcome.created:
        return "replayed"
    return "created" if outcome.revision == 1 else "revised"


def _score_within_budget(svc: Services, outcome: SubmitOutcome) -> bool:
    """Score in this process; False (caller falls back to the queue) past the budget or on error."""
    from workers.scoring import Outcome, score_and_record
    from workers.signals import Signals

    webhooks_on = bool(svc.settings.webhook_url)

    def job() -> Outcome:
        scorer = svc.scorer.get()
        # Same signals as the worker path (campaigns, entities, sender, conversation).
        signals = Signals(svc.settings) if svc.settings.signals_enabled else None
        return score_and_record(
            svc.session_factory,
            scorer,
            outcome.submission_id,
            outcome.revision,
            emit_webhook=webhooks_on,
            signals=signals,
        )

    future = svc.sync_pool.submit(job)
    try:
        scored = future.result(timeout=svc.settings.sync_budget_ms / 1000)
    except FutureTimeout:
        # A job still waiting for a pool thread is dropped; a running one finishes harmlessly
        # (recording an assessment is idempotent per revision).
        future.cancel()
        svc.metrics.sync_fallbacks.labels("budget").inc()
        return False
    except Exception as exc:
        # Type only: an exception message may quote the content.
        log.warning("sync scoring failed for submission %s: %s", outcome.submission_id, type(exc).__name__)
        svc.metrics.sync_fallbacks.labels("error").inc()
        return False
    if scored.status == "scored" and webhooks_on:
        _enqueue_webhooks(svc, outcome.submission_id)
    return scored.assessed


def _enqueue_webhooks(svc: Services, submission_id: str) -> None:
    # As the worker does after recording: deliver now; the sweeper covers a failed enqueue.
    from moderation.webhooks import pending_event_ids
    from workers.queues import enqueue_webhook

    with svc.session_factory() as session:
        event_ids = pending_event_ids(session, [submission_id])
    for event_id in event_ids:
        enqueue_webhook(svc.webhook_queue, event_id)


def _read(kind: Kind, submission_id: str) -> Response:
    view = get_submission(services().session(), kind, submission_id)
    if view is None:
        raise Problem(404, "not-found", f"No {kind.value} with this id.")
    return jsonify(view.to_dict())


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Every pydantic error as a FieldError named by its JSON path ("sender.account_age_days", "$" = body)."""
    out = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ""
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        out.append(FieldError(path or "$", error["msg"]))
    return out
