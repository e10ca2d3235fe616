"""Every error class answers RFC 9457 problem+json, names offending fields, and leaks nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.problems import Problem
from tests.api.conftest import bearer, message_body

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem.keys() >= PROBLEM_KEYS
    assert problem["status"] == status
    assert problem["type"].startswith("/problems/")
    return problem


def test_malformed_json_is_400(client: FlaskClient, submitter: dict[str, str]) -> None:
    response = client.post(
        "/v1/messages", data='{"text": "abc"', content_type="application/json", headers=submitter
    )
    problem = assert_problem(response, 400)
    assert "abc" not in problem["detail"]  # the body is never echoed


def test_deeply_nested_json_is_400_not_500(client: FlaskClient, submitter: dict[str, str]) -> None:
    body = "[" * 100_000 + "]" * 100_000  # within the size limit, beyond the decoder's recursion
    response = client.post("/v1/messages", data=body, content_type="application/json", headers=submitter)
    assert_problem(response, 400)


def test_non_json_body_is_415(client: FlaskClient, submitter: dict[str, str]) -> None:
    response = client.post("/v1/messages", data="text=hello", content_type="text/plain", headers=submitter)
    assert_problem(response, 415)


def test_body_over_the_limit_is_413(make_app, make_key) -> None:
    app = make_app(max_body_bytes=1024)
    key = make_key("submit")
    body = message_body(text="x" * 2000)
    response = app.test_client().post("/v1/messages", json=body, headers=bearer(key))
    problem = assert_problem(response, 413)
    assert "1024" in problem["detail"]


def test_text_over_max_chars_is_422_on_text(make_app, make_key) -> None:
    app = make_app(max_text_chars=50)
    key = make_key("submit")
    response = app.test_client().post("/v1/messages", json=message_body(text="y" * 51), headers=bearer(key))
    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["text"]
    assert "50" in problem["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"conversation_id": "c"}, {"external_id", "text"}),
        ({**message_body(), "sender": {"account_age_days": -3}}, {"sender.account_age_days"}),
        (
            {**message_body(), "sender": {"siret": "12"}, "recipient": {"id": ""}},
            {"sender.siret", "recipient.id"},
        ),
        ({**message_body(), "price": "cheap", "lang": "de"}, {"price", "lang"}),
        ({**message_body(), "unexpected": 1}, {"unexpected"}),
        ({**message_body(), "text": "   "}, {"text"}),
        ({**message_body(), "external_id": "has space"}, {"external_id"}),
        ([message_body()], {"$"}),
    ],
)
def test_validation_errors_name_every_field_by_json_path(
    client: FlaskClient, submitter: dict[str, str], body: Any, fields: set[str]
) -> None:
    response = client.post("/v1/messages", json=body, headers=submitter)
    problem = assert_problem(response, 422)
    assert {e["field"] for e in problem["errors"]} == fields
    assert all(e["message"] for e in problem["errors"])


def test_message_requires_a_conversation_but_listing_does_not(
    client: FlaskClient, submitter: dict[str, str]
) -> None:
    body = {"external_id": "x1", "text": "Bonjour"}
    problem = assert_problem(client.post("/v1/messages", json=body, headers=submitter), 422)
    assert [e["field"] for e in problem["errors"]] == ["conversation_id"]
    assert client.post("/v1/listings", json=body, headers=submitter).status_code == 202


def test_unknown_path_is_404_and_wrong_method_is_405(client: FlaskClient, submitter: dict[str, str]) -> None:
    assert_problem(client.get("/v1/nothing-here", headers=submitter), 404)
    response = client.delete("/v1/messages", headers=submitter)
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_unknown_mode_is_422_on_mode(client: FlaskClient, submitter: dict[str, str]) -> None:
    response = client.post("/v1/messages?mode=turbo", json=message_body(), headers=submitter)
    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["mode"]


def test_unexpected_error_is_500_without_internals(make_app, make_key, caplog) -> None:
    app = make_app()

    @app.get("/boom")
    def boom() -> None:  # an endpoint without an access policy: fails closed (admin only)
        content = "secret internal detail " + "/etc/passwd"  # as if quoting submitted text
        raise RuntimeError(content)

    key = make_key("admin")
    response = app.test_client().get("/boom", headers=bearer(key))
    problem = assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "secret internal detail" not in text
    assert "Traceback" not in text
    assert problem["type"] == "/problems/internal-error"
    # Operators see the type and frames, never the exception message (it may quote content).
    assert "RuntimeError" in caplog.text
    assert "secret internal detail" not in caplog.text


def test_problem_carries_extension_members_and_headers(app) -> None:
    with app.test_request_context("/v1/messages"):
        response = Problem(429, "rate-limited", "slow down", headers={"Retry-After": "7"}).to_response()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.get_json()["instance"] == "/v1/messages"


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
field_values = st.fixed_dictionaries(
    {},
    optional={
        "external_id": json_values | st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True),
        "conversation_id": json_values | st.just("conv-9"),
        "text": json_values | st.text(min_size=1, max_size=200),
        "title": json_values,
        "price": json_values,
        "sender": json_values | st.fixed_dictionaries({}, optional={"account_age_days": json_values}),
        "recipient": json_values,
        "lang": json_values | st.sampled_from(["fr", "en"]),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values | field_values)
def test_any_json_body_gets_a_defined_answer_never_a_500(
    client: FlaskClient, submitter: dict[str, str], body: Any
) -> None:
    raw = json.dumps(body)  # json=None would send no body at all
    response = client.post("/v1/listings", data=raw, content_type="application/json", headers=submitter)
    assert response.status_code in {200, 202, 422}, response.get_data(as_text=True)
    if response.status_code == 422:
        assert all(e["field"] for e in response.get_json()["errors"])


def test_every_response_carries_a_request_id_and_problems_quote_it(client: FlaskClient) -> None:
    fresh = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["X-Request-Id"])

    kept = client.get("/healthz", headers={"X-Request-Id": "platform-req.42"})
    assert kept.headers["X-Request-Id"] == "platform-req.42"

    # An id that is not short and plain is replaced, never echoed.
    replaced = client.get("/v1/messages/x", headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert replaced.status_code == 401
    assert "script" not in replaced.headers["X-Request-Id"]
    assert replaced.get_json()["request_id"] == replaced.headers["X-Request-Id"]


def test_nul_in_a_query_or_path_parameter_is_a_422_naming_it(client: FlaskClient, make_key) -> None:
    # PostgreSQL text cannot hold U+0000: these reached a query and failed with a 500 there.
    headers = bearer(make_key("admin"))
    audit = client.get("/v1/audit?submission_id=%00", headers=headers)
    assert audit.status_code == 422 and audit.mimetype == "application/problem+json"
    assert audit.get_json()["errors"][0]["field"] == "submission_id"
    read = client.get("/v1/messages/a%00b", headers=headers)
    assert read.status_code == 422
    assert read.get_json()["errors"][0]["field"] == "submission_id"
    forged = client.get("/v1/messages/x", headers={"Authorization": "Bearer vg_0123abc\x00_" + "A" * 43})
    assert forged.status_code == 401
