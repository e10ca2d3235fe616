"""Hostile HTTP input: malformed, oversized, wrongly encoded and deeply nested bodies, header
injection, SQL-looking text, auth bypass attempts and the rate limit. Nothing may yield a 5xx, and
every refusal is problem+json."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from moderation import keys, webhooks
from moderation.models import Submission

KeyMaker = Callable[..., str]
PROBLEM = "application/problem+json"


@pytest.fixture
def submitter(make_key: KeyMaker) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key('submit', 'read')}"}


def post_raw(client: FlaskClient, headers: dict[str, str], data: bytes, content_type: str) -> Any:
    return client.post("/v1/messages", data=data, headers={**headers, "Content-Type": content_type})


def assert_problem(response: Any, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == PROBLEM
    assert response.get_json()["status"] == status


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"external_id": "x", "text": "\xe9t\xe9 pay\xe9"}', "application/json", 400),  # latin-1 bytes
        (b'{"external_id": "x", "text": "\xed\xa0\x80"}', "application/json", 422),  # lone surrogate
        (b"\xff\xfe{\x00}\x00", "application/json", 422),  # UTF-16 with BOM: {} lacks every field
        (b"[" * 50_000 + b"]" * 50_000, "application/json", 400),  # nesting past the parser's depth
        (b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "application/json", 400),
        (b"external_id=x&text=y", "application/x-www-form-urlencoded", 415),
        (b"<xml/>", "text/xml", 415),
        (b'"just a string"', "application/json", 422),
        (b"[]", "application/json", 422),
        # PostgreSQL cannot store U+0000: refused up front, not a 500 at INSERT time.
        (b'{"external_id": "nul", "conversation_id": "c", "text": "a\\u0000b"}', "application/json", 422),
        (b'{"external_id": {"$gt": ""}, "text": "x", "conversation_id": "c"}', "application/json", 422),
        (
            b'{"external_id": "x", "text": "x", "conversation_id": "c", "is_admin": true}',
            "application/json",
            422,
        ),
        (b'{"external_id": "x", "text": NaN, "conversation_id": "c"}', "application/json", 422),
    ],
)
def test_malformed_bodies_are_refused_cleanly(
    client: FlaskClient, submitter: dict[str, str], data: bytes, content_type: str, status: int
) -> None:
    assert_problem(post_raw(client, submitter, data, content_type), status)


def test_utf8_bom_is_accepted_as_json(client: FlaskClient, submitter: dict[str, str]) -> None:
    body = json.dumps({"external_id": "bom-1", "conversation_id": "c", "text": "Bonjour"}).encode()
    response = post_raw(client, submitter, b"\xef\xbb\xbf" + body, "application/json")
    assert response.status_code == 202


def test_oversized_body_and_text(make_app: Callable[..., Flask], make_key: KeyMaker) -> None:
    app = make_app(max_body_bytes=4096, max_text_chars=100)
    client = app.test_client()
    with app.extensions["vigie"].session_factory() as session:
        from moderation.keys import create_key

        _, key = create_key(session, "big", {"submit"})
        session.commit()
    headers = {"Authorization": f"Bearer {key}"}
    huge = json.dumps({"external_id": "big", "conversation_id": "c", "text": "a" * 10_000}).encode()
    assert_problem(post_raw(client, headers, huge, "application/json"), 413)
    long_text = {"external_id": "long", "conversation_id": "c", "text": "é" * 101}
    response = client.post("/v1/messages", json=long_text, headers=headers)
    assert_problem(response, 422)
    assert any(e["field"] == "text" for e in response.get_json()["errors"])


def test_header_injection_through_fields_and_headers(
    client: FlaskClient, submitter: dict[str, str], app: Flask
) -> None:
    body = {
        "external_id": "inj\r\nSet-Cookie: pwned=1\r\nX-Evil: 1",
        "conversation_id": "c\r\nLocation: https://evil.example",
        "text": "Bonjour\r\n\r\n<html>",
    }
    response = client.post("/v1/messages", json=body, headers=submitter)
    assert response.status_code in (202, 422)
    for name, value in response.headers.items():
        assert "\r" not in value and "\n" not in value
        assert name.lower() not in {"set-cookie", "x-evil"}
    if response.status_code == 202:
        assert response.headers["Location"].startswith("/v1/messages/")
        # The id in Location is ours (hex), never a client string.
        assert response.headers["Location"].rsplit("/", 1)[1].isalnum()
    # CR/LF cannot even be sent in a request header (Werkzeug's client, like gunicorn's parser, refuses).
    with pytest.raises(ValueError, match="newline"):
        client.get("/v1/messages/x", headers={"Authorization": "Bearer vg_x\r\nX-Evil: 1"})


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE submissions; --",
        "1 OR 1=1; SELECT * FROM api_keys",
        '" OR ""="',
        "x' UNION SELECT key_hash FROM api_keys --",
        "%00%27%22; WAITFOR DELAY '0:0:5'--",
    ],
)
def test_sql_looking_text_is_just_text(
    client: FlaskClient, submitter: dict[str, str], app: Flask, text: str
) -> None:
    body = {"external_id": "sql-1", "conversation_id": "c", "text": text}
    created = client.post("/v1/messages", json=body, headers=submitter)
    assert created.status_code == 202
    read = client.get(created.headers["Location"], headers=submitter)
    assert read.status_code == 200 and read.get_json()["external_id"] == "sql-1"
    # Identifiers are restricted to a safe alphabet: SQL in an id is a validation error, not a query.
    assert_problem(client.post("/v1/messages", json={**body, "external_id": text}, headers=submitter), 422)
    # The same body again is the same submission: the text was a value, not SQL.
    assert client.post("/v1/messages", json=body, headers=submitter).status_code == 202
    with app.extensions["vigie"].session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
    assert client.get("/v1/messages/' OR '1'='1", headers=submitter).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer vg_",
        "Bearer vg_00000000_" + "a" * 43,
        "Bearer " + "vg_" + "a" * 5000,
        "Bearer ' OR '1'='1",
        "bearer\tvg_x_y",
        "Token vg_abcdefgh_xyz",
    ],
)
def test_bad_credentials_get_401(client: FlaskClient, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.post("/v1/messages", json={"external_id": "a", "text": "b"}, headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # The presented credential is never echoed back.
    if authorization and len(authorization) > 8:
        assert authorization.split(" ", 1)[-1] not in response.get_data(as_text=True)


def test_wrong_scope_and_revoked_key(client: FlaskClient, app: Flask, make_key: KeyMaker) -> None:
    reader = make_key("read")
    response = client.post(
        "/v1/messages",
        json={"external_id": "a", "conversation_id": "c", "text": "b"},
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert_problem(response, 403)
    submitter = make_key("submit", name="soon-revoked")
    headers = {"Authorization": f"Bearer {submitter}"}
    ok = client.post(
        "/v1/messages", json={"external_id": "r1", "conversation_id": "c", "text": "b"}, headers=headers
    )
    assert ok.status_code == 202
    with app.extensions["vigie"].session_factory() as session:
        keys.revoke_key(session, submitter.split("_")[1])
        session.commit()
    again = client.post(
        "/v1/messages", json={"external_id": "r2", "conversation_id": "c", "text": "b"}, headers=headers
    )
    assert_problem(again, 401)
    # A valid prefix with a forged secret is refused too.
    forged = submitter[:-4] + ("AAAA" if not submitter.endswith("AAAA") else "BBBB")
    assert_problem(client.get("/v1/messages/x", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_secrets_are_compared_in_constant_time() -> None:
    """Code inspection: key hashes and webhook signatures are compared with hmac.compare_digest only."""
    for function in (keys.authenticate, webhooks.verify):
        source = inspect.getsource(function)
        assert "hmac.compare_digest(" in source, function.__name__
        for line in source.splitlines():
            code = line.split("#", 1)[0]
            if "key_hash" in code or "expected" in code or "digest" in code:
                assert " == " not in code and " != " not in code, f"{function.__name__}: {line.strip()}"


def test_rate_limit_per_key(make_app: Callable[..., Flask]) -> None:
    app = make_app(rate_limit_per_minute=3)
    client = app.test_client()
    from moderation.keys import create_key

    with app.extensions["vigie"].session_factory() as session:
        _, first = create_key(session, "a", {"read"})
        _, second = create_key(session, "b", {"read"})
        session.commit()
    statuses = [
        client.get("/v1/messages/none", headers={"Authorization": f"Bearer {first}"}).status_code
        for _ in range(5)
    ]
    assert statuses == [404, 404, 404, 429, 429]
    limited = client.get("/v1/messages/none", headers={"Authorization": f"Bearer {first}"})
    assert_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1
    # Budgets are per key: another key is not affected.
    assert client.get("/v1/messages/none", headers={"Authorization": f"Bearer {second}"}).status_code == 404
