"""The console blueprint and what every console view shares: security headers, CSRF, the
logged-in moderator, and the static files."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, g, redirect, request, send_from_directory, session, url_for

from api.auth import public
from api.services import services
from moderation.clock import utcnow
from moderation.moderators import get_moderator
from moderation.review_models import Moderator

STATIC_DIR = Path(__file__).parent / "static"
PUBLIC_REASON = "console pages authenticate with the console's session login, not a bearer key"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"
)

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")

F = TypeVar("F", bound=Callable[..., Any])


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "console.static_file":
        # Pages show personal data: never keep them in a shared cache or the browser's disk cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def csrf_token() -> str:
    """The session's CSRF token (created on first use); forms post it back as `csrf_token`."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


@bp.before_request
def _check_csrf() -> None:
    if request.method != "POST":
        return
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(403)


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    # now_ts: the undo banner shows only while its window lasts.
    return {"csrf_token": csrf_token, "now_ts": utcnow().timestamp()}


def current_moderator() -> Moderator:
    """The logged-in moderator (only inside a `login_required` view)."""
    moderator: Moderator = g.console_moderator
    return moderator


def login_required(view: F) -> F:
    """Redirect to the login page unless the session belongs to an active moderator."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        moderator_id = session.get("moderator_id")
        db = services().session()
        moderator = get_moderator(db, moderator_id) if isinstance(moderator_id, str) else None
        if moderator is None:
            session.pop("moderator_id", None)
            return redirect(url_for("console.login", next=request.path), code=303)
        g.console_moderator = moderator
        return view(*args, **kwargs)

    return public(PUBLIC_REASON)(wrapper)  # type: ignore[return-value]


@bp.get("/static/<path:filename>")
@public("the console's own CSS and JS; no data")
def static_file(filename: str) -> Response:
    """The console's CSS and JS (same origin, as the CSP requires)."""
    response = send_from_directory(STATIC_DIR, filename, max_age=300)
    return response
