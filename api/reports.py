"""/v1/reports: users report messages and listings, and follow their report's status.

POST stores the report (one per reporter and item; a repeat answers 200 with the existing one),
scores content Vigie has not scored yet IN PROCESS through the workers' scoring path, then puts the
report on the item's review entry weighted by the reporter's reputation. Each step commits, and
attaching is idempotent, so a client retrying after an error completes an interrupted report.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from flask import Blueprint, Response, current_app, jsonify, url_for
from flask.blueprints import BlueprintSetupState
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.auth import actor, requires
from api.problems import FieldError, Problem
from api.request_body import parse_json_body
from api.schemas import Identifier
from api.services import Services, services
from api.submissions import field_errors
from api.warnings import requested_lang
from moderation.clock import utcnow
from moderation.errors import NotFound
from moderation.reports import (
    REASONS,
    ReportRequest,
    UnknownItem,
    attach_to_review,
    file_report,
    report_status,
)

log = logging.getLogger(__name__)

bp = Blueprint("reports", __name__, url_prefix="/v1")

METRICS_KEY = "vigie.report_metrics"
ReasonCode = Literal[
    "scam",
    "off_platform",
    "fake_payment",
    "fake_delivery",
    "phishing",
    "account_takeover",
    "harassment",
    "spam",
    "prohibited_item",
    "other",
]
assert set(ReasonCode.__args__) == set(REASONS)  # type: ignore[attr-defined]


class ReportIn(BaseModel):
    """A user's report of a message or listing."""

    model_config = ConfigDict(extra="forbid")

    reporter_id: Identifier = Field(description="The platform's id of the reporting user.")
    external_id: Identifier = Field(description="The platform's id of the reported message or listing.")
    kind: Literal["message", "listing"]
    reason: ReasonCode
    text: Annotated[str, Field(max_length=2000)] | None = Field(
        default=None, description="What the reporter wrote (kept for moderators, never echoed)."
    )
    excerpt: Annotated[str, Field(min_length=1, max_length=20_000)] | None = Field(
        default=None, description="The reported content, required when Vigie never received it."
    )
    reporter_locale: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}([-_][A-Za-z]{2})?$")
    conversation_id: Identifier | None = None


class ReportStatusOut(BaseModel):
    """A report's status as its reporter may see it."""

    id: str
    status: Literal["received", "in_review", "action_taken", "no_violation"]
    kind: Literal["message", "listing"]
    external_id: str
    reason: str
    lang: Literal["fr", "en"]
    statement: str
    created_at: str
    decided_at: str | None = None
    queue_position: int | None = None
    expected_delay_s: float | None = None
    expected_delay_basis: str | None = None


@bp.record_once
def _register_metrics(state: BlueprintSetupState) -> None:
    app = state.app
    app.extensions[METRICS_KEY] = Counter(
        "vigie_user_reports",
        "User reports by kind, reason and outcome (created, repeated).",
        ["kind", "reason", "outcome"],
        registry=app.extensions["vigie"].metrics.registry,
    )


@bp.post("/reports")
@requires("submit")
def create_report() -> tuple[Response, int, dict[str, str]]:
    """File a report (201), or return the reporter's existing report on the same item (200)."""
    svc = services()
    try:
        body = ReportIn.model_validate(parse_json_body())
    except ValidationError as exc:
        raise Problem(
            422, "validation-failed", "The request body is not valid.", errors=field_errors(exc)
        ) from None
    session = svc.session()
    request_data = ReportRequest(**body.model_dump())
    try:
        filed = file_report(session, request_data, actor(), utcnow())
        session.commit()
    except UnknownItem:
        session.rollback()
        raise Problem(
            422,
            "unknown-item",
            "This item was never submitted to Vigie: send its content as `excerpt`.",
            errors=[FieldError("excerpt", "required for an item Vigie has not received")],
        ) from None
    if filed.needs_scoring is not None:
        _score_now(svc, *filed.needs_scoring)
        session.expire_all()  # the assessment was written by another session
    attach_to_review(session, filed.report_id, utcnow())
    session.commit()
    current_app.extensions[METRICS_KEY].labels(
        body.kind, body.reason, "created" if filed.created else "repeated"
    ).inc()
    view = report_status(session, filed.report_id, utcnow())
    location = url_for("reports.get_report", report_id=filed.report_id)
    return jsonify(view.to_dict()), 201 if filed.created else 200, {"Location": location}


def _score_now(svc: Services, submission_id: str, revision: int) -> None:
    """Score reported content in this process so the moderator sees a verdict with the report.

    On failure the score job is enqueued instead (the sweeper covers a failed enqueue too): the
    report still joins the queue, only without a score for now.
    """
    from workers.queues import enqueue_score, enqueue_webhook
    from workers.scoring import score_and_record

    webhooks_on = bool(svc.settings.webhook_url)
    try:
        outcome = score_and_record(
            svc.session_factory, svc.scorer.get(), submission_id, revision, emit_webhook=webhooks_on
        )
    except Exception:
        log.exception("in-process scoring of reported submission %s failed; enqueueing it", submission_id)
        enqueue_score(svc.queue, submission_id, revision)
        return
    if outcome.status == "scored" and webhooks_on:
        from moderation.webhooks import pending_event_ids

        with svc.session_factory() as session:
            event_ids = pending_event_ids(session, [submission_id])
        for event_id in event_ids:
            enqueue_webhook(svc.webhook_queue, event_id)


@bp.get("/reports/<report_id>")
@requires("read")
def get_report(report_id: str) -> Response:
    """The report's status, expected delay and, once decided, the reasons in the reporter's language."""
    lang = requested_lang()
    try:
        view = report_status(services().session(), report_id, utcnow(), lang)
    except NotFound:
        raise Problem(404, "not-found", "No report with this id.") from None
    return jsonify(view.to_dict())
