"""Schema-driven fuzzing of the whole JSON API: no 5xx, and every response matches /openapi.json.

schemathesis reads the app's own OpenAPI document and generates valid and invalid requests for
every operation, sent with an admin key so they reach the handlers, not only the auth check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import create_app
from moderation.keys import create_key
from moderation.settings import Settings
from tests.hostile.profile import API_EXAMPLES


@pytest.fixture
def api_schema(settings: Settings) -> Iterator[tuple[Any, str]]:
    """The app's OpenAPI document loaded by schemathesis, and an admin key for that app."""
    app = create_app(dataclasses.replace(settings, rate_limit_per_minute=0))
    app.config["TESTING"] = True
    with app.extensions["vigie"].session_factory() as session:
        _, key = create_key(session, "fuzz", {"admin"})
        session.commit()
    yield schemathesis.openapi.from_wsgi("/openapi.json", app), key
    app.extensions["vigie"].close()


def test_api_never_5xx_and_responses_match_the_schema(api_schema: tuple[Any, str]) -> None:
    """No 5xx; every status code, media type and body is the documented one (bounded in `make test`,
    ~20x more cases in `make fuzz`)."""
    _fuzz(
        api_schema,
        [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )


def _fuzz(api_schema: tuple[Any, str], checks: list[Any]) -> None:
    """Run schemathesis on every operation with `checks`; fail listing every operation that broke one."""
    schema, key = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=API_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {key}"},
                checks=checks,
            )

        # Every operation is fuzzed even when an earlier one fails: the report lists them all.
        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a BaseExceptionGroup
            found = getattr(exc, "exceptions", [exc])
            failures.append(f"{operation.label}: " + "; ".join(_summary(e) for e in found))
    assert not failures, "\n".join(failures)


def _summary(error: BaseException) -> str:
    """The check's name and its first detail lines (e.g. the received and documented status codes)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return " / ".join(lines[:3])
