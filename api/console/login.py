"""Console login and logout, with login attempts rate-limited per client address and per e-mail."""

from __future__ import annotations

import threading
import time

from flask import Response, redirect, render_template, request, session, url_for
from redis.exceptions import RedisError

from api.auth import public
from api.console.blueprint import PUBLIC_REASON, bp, login_required
from api.services import services
from moderation import audit
from moderation.moderators import authenticate

# At most this many failed attempts per window, per address and per e-mail (password guessing).
MAX_FAILURES = 10
WINDOW_S = 300
_local_failures: dict[str, list[float]] = {}
_local_lock = threading.Lock()


def _keys(email: str) -> list[str]:
    return [f"vigie:console:login:ip:{request.remote_addr or '-'}", f"vigie:console:login:email:{email}"]


def _failures(keys: list[str]) -> int:
    try:
        values = services().redis.mget(keys)
        return max(int(v or 0) for v in values)
    except RedisError:
        # Redis down: count in this process instead of letting guesses through unlimited.
        now = time.monotonic()
        with _local_lock:
            return max(len([t for t in _local_failures.get(k, []) if now - t < WINDOW_S]) for k in keys)


def _record_failure(keys: list[str]) -> None:
    try:
        pipe = services().redis.pipeline()
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, WINDOW_S, nx=True)
        pipe.execute()
    except RedisError:
        with _local_lock:
            for key in keys:
                _local_failures.setdefault(key, []).append(time.monotonic())


def _safe_next(target: str | None) -> str:
    # Only paths inside the console: an open redirect would make the login page a phishing relay.
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return url_for("console.queue")


@bp.get("/login")
@public(PUBLIC_REASON)
def login() -> str:
    """The login form."""
    return render_template("console/login.html", next=request.args.get("next", ""), error=None)


@bp.post("/login")
@public(PUBLIC_REASON)
def login_post() -> Response | tuple[str, int]:
    """Check the credentials; on success start a fresh session (no fixation) and go on."""
    email = request.form.get("email", "").strip().lower()[:320]
    password = request.form.get("password", "")[:1000]
    keys = _keys(email)
    if _failures(keys) >= MAX_FAILURES:
        return render_template("console/login.html", next="", error="rate_limited"), 429
    db = services().session()
    moderator = authenticate(db, email, password)
    if moderator is None:
        _record_failure(keys)
        return render_template("console/login.html", next="", error="invalid"), 401
    target = _safe_next(request.form.get("next"))
    session.clear()
    session["moderator_id"] = moderator.id
    session.permanent = True
    audit.record(db, f"moderator:{moderator.id}", "console.login", "moderator", moderator.id, {})
    db.commit()
    return redirect(target, code=303)  # type: ignore[return-value]


@bp.post("/logout")
@login_required
def logout() -> Response:
    """End the session."""
    session.clear()
    return redirect(url_for("console.login"), code=303)  # type: ignore[return-value]
