"""Reading a JSON request body with the API's error semantics (415, 413, 400)."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from api.problems import FieldError, Problem


def parse_json_body() -> Any:
    """The decoded JSON body of the current request.

    Raises Problem 415 when the media type is not JSON, lets Werkzeug raise 413 when the body
    exceeds MAX_CONTENT_LENGTH, and raises 400 on malformed JSON (the parser's position only:
    the body itself is never echoed).
    """
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise Problem(415, "unsupported-media-type", "Send the body as application/json.")
    raw = request.get_data(cache=True)
    try:
        value = json.loads(raw)
    except UnicodeDecodeError:
        raise Problem(400, "malformed-json", "The body is not valid UTF-8.") from None
    except RecursionError:
        # The C decoder recurses per nesting level: "[[[[..." within the size limit would be a 500.
        raise Problem(400, "malformed-json", "The body is nested too deeply.") from None
    except json.JSONDecodeError as exc:
        raise Problem(
            400, "malformed-json", f"The body is not valid JSON (line {exc.lineno}, column {exc.colno})."
        ) from None
    if _has_nul(value):
        # PostgreSQL text and JSON cannot store U+0000: refuse it here rather than fail at INSERT (500).
        raise Problem(
            422,
            "validation-failed",
            "Strings must not contain the NUL character (U+0000).",
            errors=[FieldError("$", "contains U+0000")],
        )
    return value


def _has_nul(value: Any) -> bool:
    """True when any string (key or value) anywhere in the decoded JSON contains U+0000."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
