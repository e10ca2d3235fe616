"""Refuse U+0000 in query parameters and path segments with a 422 naming the parameter.

PostgreSQL text cannot hold NUL: a NUL reaching a query raises DataError (a 500) on PostgreSQL
while SQLite stores it. `api.request_body` applies the same rule to JSON bodies; this hook covers
what arrives in the URL (found by schemathesis: `GET /v1/audit?submission_id=%00`).
"""

from __future__ import annotations

from flask import Flask, request

from api.problems import FieldError, Problem


def _refuse_nul() -> None:
    names = [name for name, value in request.args.items(multi=True) if "\x00" in name or "\x00" in value]
    names += [name for name, value in (request.view_args or {}).items() if "\x00" in str(value)]
    if names:
        raise Problem(
            422,
            "validation-failed",
            "Parameters must not contain the NUL character (U+0000).",
            errors=[FieldError(name.replace("\x00", "\\u0000"), "contains U+0000") for name in names],
        )


def init_app(app: Flask) -> None:
    """Check every request's query and path parameters (after authentication, before the view)."""
    app.before_request(_refuse_nul)
