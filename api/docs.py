"""/openapi.json and /docs.

Both are public: they describe the contract, hold no data, and /docs must open in a
browser, which cannot attach a bearer key. The page is self-contained (inline CSS and JS,
no CDN) so it works on an isolated network.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from flask import Blueprint, Response, current_app, jsonify

from api.auth import public
from api.openapi import build_spec

bp = Blueprint("docs", __name__)


@cache
def _docs_html() -> str:
    return resources.files("api").joinpath("static/docs.html").read_text(encoding="utf-8")


@bp.get("/openapi.json")
@public("the API contract; contains no data")
def openapi() -> Response:
    """The OpenAPI 3.1 document, generated from the code."""
    return jsonify(build_spec(current_app))


@bp.get("/docs")
@public("documentation page for browsers, which cannot send a bearer key")
def docs() -> Response:
    """An HTML page that renders /openapi.json without any external asset."""
    response = Response(_docs_html(), mimetype="text/html")
    # The page only needs its own inline code and a same-origin fetch.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"
    )
    return response
