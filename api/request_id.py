"""Request correlation: every response carries `X-Request-Id`, and so does every problem body.

A caller's own id is kept when it is short and plain (so a platform can follow one request
through its logs and ours); anything else is replaced by a fresh one, never echoed.
"""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-Id"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request or before the hook ran)."""
    value = g.get("request_id")
    return value if isinstance(value, str) else None


def _assign() -> None:
    sent = request.headers.get(HEADER, "")
    g.request_id = sent if _ACCEPTABLE.match(sent) else uuid.uuid4().hex


def _echo(response: Response) -> Response:
    request_id = current_request_id()
    if request_id is not None:
        response.headers[HEADER] = request_id
    return response


def init_app(app: Flask) -> None:
    """Assign the id before anything else runs and return it on every response."""
    app.before_request(_assign)
    app.after_request(_echo)
