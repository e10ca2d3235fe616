"""/v1/conversations/{id}/warnings, /v1/warnings/{id}/events and /v1/warnings/stats.

Reads render the stored warnings in the recipient's language (or `?lang=fr|en`); the texts are plain
text for the platform to escape. Telemetry events are stored (per-category stats) and counted in
Prometheus.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, ValidationError

from api.auth import requires
from api.problems import Problem
from api.request_body import parse_json_body
from api.services import services
from api.submissions import field_errors
from moderation import warnings as safety_warnings
from moderation.clock import utcnow
from moderation.errors import NotFound
from moderation.wording import LANGS

bp = Blueprint("warnings", __name__, url_prefix="/v1")

METRICS_KEY = "vigie.warning_metrics"


class WarningEventIn(BaseModel):
    """What the recipient did with a warning."""

    model_config = ConfigDict(extra="forbid")

    event: Literal["shown", "dismissed", "clicked_through", "reported"]


class WarningActionOut(BaseModel):
    type: str
    label: str


class WarningOut(BaseModel):
    """A safety warning as the platform shows it (plain text: escape it when displaying)."""

    id: str
    category: str
    severity: Literal["info", "caution", "danger"]
    title: str
    body: str
    lang: Literal["fr", "en"]
    message_id: str
    conversation_id: str | None = None
    actions: list[WarningActionOut]
    catalogue_version: str
    created_at: str


class WarningListOut(BaseModel):
    conversation_id: str
    warnings: list[WarningOut]


class WarningEventOut(BaseModel):
    warning_id: str
    event: str
    category: str


class WarningStatsOut(BaseModel):
    """Per category: issued and active warnings, and counts of each telemetry event."""

    categories: dict[str, dict[str, Any]]


@bp.record_once
def _register_metrics(state: BlueprintSetupState) -> None:
    # One counter per app, in the app's own registry (the API's /metrics exposes it).
    app = state.app
    registry = app.extensions["vigie"].metrics.registry
    app.extensions[METRICS_KEY] = Counter(
        "vigie_warning_events",
        "Safety-warning telemetry events by category and event.",
        ["category", "event"],
        registry=registry,
    )


def requested_lang() -> str | None:
    """`?lang=` when given; a value other than fr/en is a 422."""
    lang = request.args.get("lang")
    if lang is None:
        return None
    if lang not in LANGS:
        raise Problem(422, "validation-failed", "lang must be one of: fr, en.")
    return lang


@bp.get("/conversations/<conversation_id>/warnings")
@requires("read")
def list_conversation_warnings(conversation_id: str) -> Response:
    """Active safety warnings of a conversation, for its recipient."""
    lang = requested_lang()
    rows = safety_warnings.for_conversation(services().session(), conversation_id)
    return jsonify(
        {
            "conversation_id": conversation_id,
            "warnings": [safety_warnings.render(row, lang) for row in rows],
        }
    )


@bp.post("/warnings/<warning_id>/events")
@requires("submit")
def record_warning_event(warning_id: str) -> tuple[Response, int]:
    """Record that the recipient saw, dismissed, clicked through or reported from a warning."""
    try:
        body = WarningEventIn.model_validate(parse_json_body())
    except ValidationError as exc:
        raise Problem(
            422, "validation-failed", "The request body is not valid.", errors=field_errors(exc)
        ) from None
    session = services().session()
    try:
        row = safety_warnings.record_event(session, warning_id, body.event, utcnow())
    except NotFound:
        raise Problem(404, "not-found", "No warning with this id.") from None
    session.commit()
    current_app.extensions[METRICS_KEY].labels(row.category, row.event).inc()
    return jsonify({"warning_id": warning_id, "event": row.event, "category": row.category}), 201


@bp.get("/warnings/stats")
@requires("read")
def warning_stats() -> Response:
    """Warnings issued and telemetry events, per category."""
    return jsonify({"categories": safety_warnings.stats(services().session())})
