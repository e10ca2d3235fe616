"""The moderator console: server-rendered pages under /console (Jinja, a little vanilla JS, no CDN).

Security model: a Flask session (signed cookie: HttpOnly, SameSite=Strict, Secure outside
development) identifies the moderator after a password login; every POST carries the session's
CSRF token; every response forbids framing and inline scripts (Content-Security-Policy without
'unsafe-inline'). Content written by users is only ever rendered through Jinja's autoescaping.
The bearer-key hook does not apply here: views are declared `public` to it and check the
console session themselves (`login_required`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

from api.console.blueprint import bp
from api.services import services

SECRET_FILE = "console_secret_key"  # noqa: S105 - a file name, not a secret


def _secret_key(app: Flask) -> str:
    svc = services()
    if svc.settings.secret_key:
        return svc.settings.secret_key
    # One key per data directory, shared by every worker process of the stack, so sessions survive
    # restarts and any gunicorn worker can read a cookie another one signed.
    path = Path(svc.settings.data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        key = secrets.token_urlsafe(48)
        handle.write(key)
    return key


def init_app(app: Flask) -> None:
    """Register the console blueprint and configure the session cookie."""
    from api.console import login, pages  # noqa: F401 - the modules attach their views to `bp`

    with app.app_context():
        app.secret_key = _secret_key(app)
        environment = services().settings.environment
    app.config.update(
        SESSION_COOKIE_NAME="vigie_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # Browsers refuse Secure cookies on plain http outside localhost: only development serves that.
        SESSION_COOKIE_SECURE=environment not in {"development", "test"},
        SESSION_COOKIE_PATH="/console",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
    )
    app.register_blueprint(bp)
