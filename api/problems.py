"""RFC 9457 problem details: the one place where errors become HTTP responses.

Domain code raises domain errors (moderation.errors) or `Problem`; every error handler
registered here renders `application/problem+json` so clients parse one shape only.
Nothing a client sent is echoed back except field names, and stack traces never leave
the process.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, json, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from api.request_id import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Problem types are documented URIs; relative references resolve against the API host.
TYPE_BASE = "/problems/"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldError:
    """One offending input field, named by its JSON path (e.g. "sender.account_age_days")."""

    field: str
    message: str
    pointer: str | None = None  # RFC 6901 form of the same location, given for batch items

    def to_dict(self) -> dict[str, str]:
        out = {"field": self.field, "message": self.message}
        if self.pointer is not None:
            out["pointer"] = self.pointer
        return out


@dataclass
class Problem(Exception):
    """An error that maps directly to a problem+json response.

    `slug` becomes the `type` URI (`/problems/<slug>`); `headers` carries e.g. `Retry-After`
    or `WWW-Authenticate`.
    """

    status: int
    slug: str
    detail: str = ""
    title: str = ""
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    # RFC 9457 extension members (e.g. "existing_id" on a 409).
    extensions: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail or self.slug)

    def to_response(self) -> Response:
        return problem_response(
            self.status,
            self.slug,
            self.detail,
            title=self.title,
            errors=self.errors,
            headers=self.headers,
            extensions=self.extensions,
        )


def problem_body(
    status: int,
    slug: str,
    detail: str = "",
    *,
    title: str = "",
    errors: list[FieldError] | None = None,
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The problem details object; `instance` is the path only (a query string may hold data)."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or HTTPStatus(status).description,
        "instance": request.path,
    }
    request_id = current_request_id()
    if request_id is not None:
        body["request_id"] = request_id  # quote it to support; it is also the X-Request-Id header
    if errors:
        body["errors"] = [e.to_dict() for e in errors]
    for name, value in (extensions or {}).items():
        body.setdefault(name, value)
    return body


def problem_response(
    status: int,
    slug: str,
    detail: str = "",
    *,
    title: str = "",
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    """Build a problem+json response (see `problem_body`)."""
    body = problem_body(status, slug, detail, title=title, errors=errors, extensions=extensions)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# Werkzeug's exceptions are mapped by status to a stable slug; anything else is "http-error".
_HTTP_SLUGS = {
    400: "malformed-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    429: "rate-limited",
    503: "unavailable",
}


def _handle_problem(exc: Problem) -> Response:
    return exc.to_response()


def _handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers: dict[str, str] = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    detail = ""
    if status == 413:
        max_len = request.max_content_length
        detail = f"The request body exceeds the limit of {max_len} bytes." if max_len else ""
    return problem_response(status, _HTTP_SLUGS.get(status, "http-error"), detail, headers=headers)


def _handle_unexpected(exc: Exception) -> Response:
    # Operators get the exception type and the frames; not its message, which may quote the
    # submitted text or an e-mail address (logs stay PII-free). The client gets a generic body.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        "unhandled %s on %s %s request_id=%s\n%s",
        type(exc).__name__,
        request.method,
        request.path,
        current_request_id(),
        frames,
    )
    return problem_response(500, "internal-error", "An unexpected error occurred; it has been logged.")


# How long a client should wait before retrying when the database is unavailable: long enough for a
# lock holder or a restarting server, short enough that a retry with the same external_id soon succeeds.
DATABASE_RETRY_AFTER_S = 2


def is_database_unavailable(exc: DBAPIError) -> bool:
    """True for errors that say the database cannot be reached or used right now, not that the
    request is wrong: refused or dropped connections, a server shutting down, SQLite locked past its
    busy timeout (all OperationalError or InterfaceError), or any error that invalidated the connection."""
    return isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated


def _handle_database_error(exc: DBAPIError) -> Response:
    if not is_database_unavailable(exc):
        return _handle_unexpected(exc)  # an IntegrityError or a bad statement is a bug: 500
    # Nothing was acknowledged: the transaction did not commit (or its outcome is unknown), so the
    # client retries with the same external_id, which is idempotent. The driver's message is not
    # logged: it can quote parameters, i.e. submitted content.
    log.warning(
        "database unavailable on %s %s: %s (%s) request_id=%s",
        request.method,
        request.path,
        type(exc).__name__,
        type(exc.orig).__name__ if exc.orig is not None else "-",
        current_request_id(),
    )
    return problem_response(
        503,
        "database-unavailable",
        "The database is unavailable; the request was not acknowledged. Retry later with the same body.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def init_app(app: Flask) -> None:
    """Register the handlers that turn every error into problem+json."""
    app.register_error_handler(Problem, _handle_problem)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(DBAPIError, _handle_database_error)
    app.register_error_handler(Exception, _handle_unexpected)
