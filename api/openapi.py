"""The OpenAPI 3.1 document, generated from the pydantic models and a route table.

`ROUTES` lists every operation with its request model and documented responses; schemas
come from pydantic (JSON Schema 2020-12, which OpenAPI 3.1 embeds as-is) and security
from each view's declared access policy, so the document cannot disagree with what the
auth hook enforces. A test checks that every route of the app appears here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.auth import policy_for
from api.problems import PROBLEM_MEDIA_TYPE
from api.reports import ReportIn, ReportStatusOut
from api.review_schemas import (
    AppealIn,
    AssignIn,
    AuditListOut,
    DecisionIn,
    DecisionOut,
    EscalateIn,
    ReviewItemListOut,
    ReviewItemOut,
)
from api.schemas import (
    BatchOut,
    HealthOut,
    ListingBatchIn,
    ListingIn,
    MessageBatchIn,
    MessageIn,
    ProblemOut,
    SubmissionOut,
)
from api.warnings import WarningEventIn, WarningEventOut, WarningListOut, WarningStatsOut

JSON = "application/json"
# Blueprints that are not part of the JSON API, hence not in this document: the moderators' console
# is server-rendered HTML behind its own session login, with form posts, redirects and HTML error
# pages (tested in tests/browser and tests/hostile/test_console_xss.py).
UNDOCUMENTED_BLUEPRINTS = frozenset({"console"})


@dataclass(frozen=True)
class Reply:
    """One documented response: description, body model and media type."""

    description: str
    model: type[BaseModel] | None = ProblemOut
    media_type: str = PROBLEM_MEDIA_TYPE
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI template, e.g. /v1/messages/{submission_id}
    endpoint: str  # Flask endpoint name
    summary: str
    tag: str
    request_model: type[BaseModel] | None = None
    query: tuple[tuple[str, str], ...] = ()  # (name, description) of optional string parameters
    replies: dict[int, Reply] = field(default_factory=dict)


_AUTH_REPLIES = {
    401: Reply("Missing, invalid or revoked API key.", headers=("WWW-Authenticate",)),
    403: Reply("The key lacks a required scope."),
    429: Reply("Per-key rate limit exceeded.", headers=("Retry-After",)),
}
_SUBMIT_REPLIES = {
    200: Reply(
        "Already scored: a replay of an earlier identical request, or ?mode=sync finished within budget.",
        SubmissionOut,
        JSON,
        ("Location",),
    ),
    202: Reply("Queued for scoring (or an identical replay not scored yet).", SubmissionOut, JSON),
    400: Reply("The body is not valid JSON."),
    409: Reply("external_id already used by a message with a different body (messages are immutable)."),
    413: Reply("The body exceeds VIGIE_MAX_BODY_BYTES."),
    415: Reply("The body is not application/json."),
    422: Reply("Validation failed; `errors` names every offending field by its JSON path."),
    **_AUTH_REPLIES,
}
_BATCH_REPLIES = {
    200: Reply(
        "Per-item results in request order: 201 stored, 200 identical replay, 409 external_id taken by "
        "another body, 422 invalid item (errors name `items[3].text`, pointer `/items/3/text`). Every 2xx "
        "item is committed.",
        BatchOut,
        JSON,
    ),
    400: _SUBMIT_REPLIES[400],
    413: _SUBMIT_REPLIES[413],
    415: _SUBMIT_REPLIES[415],
    422: Reply('Malformed envelope: not {"items": [...]}, or not 1 to VIGIE_BATCH_MAX_ITEMS items.'),
    **_AUTH_REPLIES,
    429: Reply("Per-key rate limit exceeded (each item counts as a request).", headers=("Retry-After",)),
}
_SYNC = (
    ("mode", "`async` (default) or `sync`: score in process within VIGIE_SYNC_BUDGET_MS (202 if missed)."),
)
_READ_REPLIES = {
    200: Reply("The submission with its latest assessment (null until scored).", SubmissionOut, JSON),
    404: Reply("No submission of this kind with this id."),
    **_AUTH_REPLIES,
}

_LANG = (("lang", "`fr` or `en`: overrides the reader's own language."),)
_NOT_FOUND = {404: Reply("No such resource."), **_AUTH_REPLIES}
# The moderators' queue (api/review.py): scope `moderate`, a moderator's key.
_MOD_REPLIES = {
    403: Reply(
        "The key lacks the scope, or does not belong to a moderator account, or the item is not "
        "theirs to work (senior queue, own decision under appeal)."
    ),
    404: Reply("No such item."),
    401: _AUTH_REPLIES[401],
    429: _AUTH_REPLIES[429],
}
_ITEM = Reply("The item; `ETag` is its version.", ReviewItemOut, JSON, ("ETag",))
_CLAIMED = Reply("Another moderator holds the item (problem type claimed-by-another), or it is not open.")
_FILTERS = (
    ("status", "open (default), decided, needs_info or any"),
    ("queue", "standard or senior"),
    ("category", "a scam category"),
    ("kind", "message or listing"),
    ("lang", "fr or en"),
    ("sender", "pro or individual"),
    ("cursor", "next_cursor of the previous page"),
    ("limit", "page size, 1-200 (default 50)"),
)
REVIEW_ROUTES: tuple[Route, ...] = (
    Route("get", "/v1/review/items", "review.list_items", "List the review queue", "review", query=_FILTERS,
          replies={200: Reply("A page of items, highest priority first.", ReviewItemListOut, JSON),
                   422: Reply("Unknown filter value or malformed cursor."), **_MOD_REPLIES}),
    Route("get", "/v1/review/items/{item_id}", "review.get_item", "Read an item with its content and reasons",
          "review", replies={200: _ITEM, 304: Reply("Not modified (If-None-Match).", None, JSON),
                             **_MOD_REPLIES}),
    Route("post", "/v1/review/items/{item_id}/claim", "review.claim", "Claim an item (leased)", "review",
          replies={200: _ITEM, 409: _CLAIMED, **_MOD_REPLIES}),
    Route("post", "/v1/review/items/{item_id}/release", "review.release", "Release a claimed item", "review",
          replies={200: _ITEM, 409: _CLAIMED, **_MOD_REPLIES}),
    Route("post", "/v1/review/items/{item_id}/assign", "review.assign", "Assign an item to a moderator",
          "review", AssignIn, replies={200: _ITEM, 409: _CLAIMED, 422: Reply("Unknown moderator."),
                                       **_MOD_REPLIES}),
    Route("post", "/v1/review/items/{item_id}/escalate", "review.escalate", "Escalate to the senior queue",
          "review", EscalateIn, replies={200: _ITEM, 409: _CLAIMED, **_MOD_REPLIES}),
    Route("post", "/v1/review/items/{item_id}/decision", "review.decide",
          "Decide an item (If-Match or version: 409 on concurrent change)", "review", DecisionIn,
          replies={201: Reply("The decision.", DecisionOut, JSON, ("ETag", "Location")),
                   400: Reply("Malformed If-Match."),
                   409: Reply("version-conflict (the item changed), claimed-by-another or state-conflict."),
                   422: Reply("Unknown decision or reason code."), **_MOD_REPLIES}),
    Route("post", "/v1/review/decisions/{decision_id}/undo", "review.undo",
          "Undo a decision within the window", "review",
          replies={200: _ITEM, 409: Reply("The undo window has passed (undo-expired)."), **_MOD_REPLIES}),
    Route("post", "/v1/review/items/{item_id}/appeal", "review.appeal",
          "The sender appeals a confirmed scam (decided by a different moderator)", "review", AppealIn,
          replies={202: Reply("Appeal recorded; the item is back in the queue.", None, JSON),
                   409: Reply("Nothing to appeal (not a confirmed scam) or already appealed."),
                   404: Reply("No such item."), 422: Reply("Empty text."), **_AUTH_REPLIES}),
    Route("get", "/v1/audit", "review.audit_trail", "Audit trail of a submission", "review",
          query=(("submission_id", "required"), ("cursor", "last event id seen"), ("limit", "1-200")),
          replies={200: Reply("Events, oldest first.", AuditListOut, JSON),
                   422: Reply("submission_id missing."), **_AUTH_REPLIES}),
)  # fmt: skip

# User side (issue 5): safety warnings for recipients, warning telemetry, user reports.
USER_SIDE_ROUTES: tuple[Route, ...] = (
    Route("get", "/v1/conversations/{conversation_id}/warnings", "warnings.list_conversation_warnings",
          "Safety warnings of a conversation, for its recipient", "user side", query=_LANG,
          replies={200: Reply("Active warnings, plain text (escape when displaying).", WarningListOut, JSON),
                   422: Reply("lang is not fr or en."), **_AUTH_REPLIES}),
    Route("post", "/v1/warnings/{warning_id}/events", "warnings.record_warning_event",
          "Record what the recipient did with a warning", "user side", WarningEventIn,
          replies={201: Reply("Stored and counted.", WarningEventOut, JSON),
                   422: Reply("Unknown event."), **_NOT_FOUND}),
    Route("get", "/v1/warnings/stats", "warnings.warning_stats", "Warnings and telemetry per category",
          "user side", replies={200: Reply("Counts per category.", WarningStatsOut, JSON), **_AUTH_REPLIES}),
    Route("post", "/v1/reports", "reports.create_report", "Report a message or listing", "user side",
          ReportIn,
          replies={201: Reply("Report filed and queued for review.", ReportStatusOut, JSON, ("Location",)),
                   200: Reply("This reporter already reported this item: the existing report.",
                              ReportStatusOut, JSON, ("Location",)),
                   422: Reply("Validation failed, or an unknown item without `excerpt`."),
                   **_AUTH_REPLIES}),
    Route("get", "/v1/reports/{report_id}", "reports.get_report",
          "A report's status, expected delay and reasons", "user side", query=_LANG,
          replies={200: Reply("Status in the reporter's language.", ReportStatusOut, JSON),
                   422: Reply("lang is not fr or en."), **_NOT_FOUND}),
)  # fmt: skip

ROUTES: tuple[Route, ...] = (
    Route("post", "/v1/messages", "submissions.create_message", "Submit a message", "submissions",
          MessageIn, _SYNC, _SUBMIT_REPLIES),
    Route("post", "/v1/messages/batch", "batches.create_messages", "Submit several messages at once",
          "submissions", MessageBatchIn, replies=_BATCH_REPLIES),
    Route("get", "/v1/messages/{submission_id}", "submissions.get_message", "Read a message and its verdict",
          "submissions", replies=_READ_REPLIES),
    Route("post", "/v1/listings", "submissions.create_listing", "Submit a listing (new body = new revision)",
          "submissions", ListingIn, _SYNC, _SUBMIT_REPLIES),
    Route("post", "/v1/listings/batch", "batches.create_listings", "Submit several listings at once",
          "submissions", ListingBatchIn, replies=_BATCH_REPLIES),
    Route("get", "/v1/listings/{submission_id}", "submissions.get_listing", "Read a listing and its verdict",
          "submissions", replies=_READ_REPLIES),
    Route("get", "/healthz", "health.healthz", "Liveness", "operations",
          replies={200: Reply("The process answers.", HealthOut, JSON)}),
    Route("get", "/readyz", "health.readyz", "Readiness (database and Redis)", "operations",
          replies={200: Reply("Dependencies answer.", HealthOut, JSON),
                   503: Reply("A dependency is unavailable.", headers=("Retry-After",))}),
    Route("get", "/metrics", "metrics.metrics", "Prometheus metrics (admin or loopback)", "operations",
          replies={200: Reply("Prometheus text exposition.", None, "text/plain"), **_AUTH_REPLIES}),
    Route("get", "/openapi.json", "docs.openapi", "This document", "operations",
          replies={200: Reply("The OpenAPI 3.1 document.", None, JSON)}),
    Route("get", "/docs", "docs.docs", "Documentation page (no external assets)", "operations",
          replies={200: Reply("HTML page rendering this document.", None, "text/html")}),
    *USER_SIDE_ROUTES,
    *REVIEW_ROUTES,
)  # fmt: skip


def _schemas() -> dict[str, Any]:
    models = {ProblemOut, SubmissionOut, HealthOut, BatchOut}
    models.update(r.request_model for r in ROUTES if r.request_model is not None)
    mode = {
        SubmissionOut: "serialization",
        ProblemOut: "serialization",
        HealthOut: "serialization",
        BatchOut: "serialization",
    }
    for route in (*USER_SIDE_ROUTES, *REVIEW_ROUTES):
        for reply in route.replies.values():
            if reply.model is not None and reply.model not in models:
                models.add(reply.model)
                mode[reply.model] = "serialization"
    _, top = models_json_schema(
        [(m, mode.get(m, "validation")) for m in sorted(models, key=lambda m: m.__name__)],  # type: ignore[misc]
        ref_template="#/components/schemas/{model}",
    )
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(app: Flask, route: Route) -> dict[str, Any]:
    policy = policy_for(app, route.endpoint)
    op: dict[str, Any] = {"operationId": route.endpoint.replace(".", "_"), "summary": route.summary,
                          "tags": [route.tag]}  # fmt: skip
    if policy.public:
        op["security"] = []
        op["description"] = f"No key required: {policy.reason}."
    else:
        scopes = sorted(policy.scopes)
        op["security"] = [{"bearerKey": scopes}]
        op["description"] = f"Requires a key with scope(s): {', '.join(scopes)}."
        if policy.loopback_ok:
            op["security"].append({})
            op["description"] += " Direct loopback clients (not relayed by a proxy) need no key."
    params = [
        {"name": name[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
        for name in route.path.split("/")
        if name.startswith("{")
    ]
    params += [
        {"name": name, "in": "query", "required": False, "description": desc, "schema": {"type": "string"}}
        for name, desc in route.query
    ]
    if params:
        op["parameters"] = params
        # api.request_args refuses U+0000 in any parameter.
        replies = {422: Reply("A parameter contains U+0000 (NUL)."), **route.replies}
    else:
        replies = route.replies
    if route.request_model is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": _ref(route.request_model)}}}
    responses: dict[str, Any] = {}
    for status, reply in sorted(replies.items()):
        entry: dict[str, Any] = {"description": reply.description}
        schema = _ref(reply.model) if reply.model is not None else {"type": "string"}
        entry["content"] = {reply.media_type: {"schema": schema}}
        if reply.headers:
            entry["headers"] = {h: {"schema": {"type": "string"}} for h in reply.headers}
        responses[str(status)] = entry
    if not policy.public:
        # Every keyed operation reads the database (at least to check the key).
        responses.setdefault(
            "503",
            {
                "description": "The database is unavailable; nothing was acknowledged. Retry later.",
                "content": {PROBLEM_MEDIA_TYPE: {"schema": _ref(ProblemOut)}},
                "headers": {"Retry-After": {"schema": {"type": "string"}}},
            },
        )
    responses["500"] = {
        "description": "Unexpected error (no internals are disclosed).",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": _ref(ProblemOut)}},
    }
    op["responses"] = responses
    return op


def build_spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document for `app` (its routes must all appear in ROUTES, except those of
    UNDOCUMENTED_BLUEPRINTS)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        if route.endpoint in app.view_functions:
            paths.setdefault(route.path, {})[route.method] = _operation(app, route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Vigie API",
            "version": "1",
            "description": (
                "Marketplace trust and anti-scam moderation. Submit messages and listings; read verdicts "
                "(allow, warn, review, hold). Errors are RFC 9457 application/problem+json."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "submissions"},
            {"name": "user side"},
            {"name": "review"},
            {"name": "operations"},
        ],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearerKey": {"type": "http", "scheme": "bearer", "description": "vg_<prefix>_<secret>"}
            },
        },
    }
