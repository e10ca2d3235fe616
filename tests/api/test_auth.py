"""Authentication and scopes, checked over EVERY route of the app (new endpoints are covered
automatically): a missing key is 401 with a challenge, a key without the scope is 403."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from api.auth import policy_for
from moderation.keys import SCOPES, revoke_key
from tests.api.conftest import bearer

# Reachable without a key, each for a documented reason (see the view's @public reason).
PUBLIC_ENDPOINTS = {"health.healthz", "health.readyz", "docs.openapi", "docs.docs"}
# The moderator console authenticates with its own session login (api/console), not a bearer key.
CONSOLE_BLUEPRINT = "console."


def bearer_free(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or endpoint.startswith(CONSOLE_BLUEPRINT)


REMOTE = {"REMOTE_ADDR": "203.0.113.9"}  # not loopback: /metrics needs a key from here


# Values tried for URL arguments, so every converter (string, int, uuid, path) finds one it accepts.
_ARG_CANDIDATES = ("0123456789abcdef0123456789abcdef", "1", "01234567-89ab-cdef-0123-456789abcdef")


def concrete_url(app: Flask, rule: Rule) -> str:
    """A URL that routes to `rule` (its arguments filled with values its converters accept)."""
    adapter = app.url_map.bind("localhost")
    method = sorted((rule.methods or {"GET"}) - {"HEAD", "OPTIONS"})[0]
    for candidate in _ARG_CANDIDATES:
        try:
            url = adapter.build(rule.endpoint, dict.fromkeys(rule.arguments, candidate), method=method)
            if adapter.match(url, method=method)[0] == rule.endpoint:
                return url
        except (HTTPException, ValueError):
            continue
    raise AssertionError(f"no test URL for {rule.rule}")


def routes(app: Flask) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, concrete URL) for every rule of the app."""
    for rule in app.url_map.iter_rules():
        url = concrete_url(app, rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_public_endpoints_are_exactly_the_documented_ones(app: Flask) -> None:
    public = {endpoint for endpoint, _, _ in routes(app) if policy_for(app, endpoint).public}
    assert {e for e in public if not e.startswith(CONSOLE_BLUEPRINT)} == PUBLIC_ENDPOINTS
    for endpoint in public:
        assert policy_for(app, endpoint).reason, endpoint


def test_every_protected_route_refuses_a_missing_or_malformed_key(app: Flask, client: FlaskClient) -> None:
    checked = 0
    for endpoint, method, url in routes(app):
        if bearer_free(endpoint):
            continue
        for headers in ({}, {"Authorization": "Basic dXNlcjpwdw=="}, bearer("vg_nothing_here")):
            response = client.open(url, method=method, headers=headers, environ_base=REMOTE)
            assert response.status_code == 401, (endpoint, method, headers)
            assert response.mimetype == "application/problem+json"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        checked += 1
    assert checked >= 5  # messages and listings (POST + GET) and metrics at least


def test_every_protected_route_refuses_a_key_without_its_scope(
    app: Flask, client: FlaskClient, make_key
) -> None:
    for endpoint, method, url in routes(app):
        policy = policy_for(app, endpoint)
        if policy.public:
            continue
        # All scopes but the ones needed (and never admin, which implies every scope).
        others = SCOPES - policy.scopes - {"admin"}
        key = make_key(*others)
        response = client.open(url, method=method, headers=bearer(key), environ_base=REMOTE, json={})
        assert response.status_code == 403, (endpoint, method)
        assert response.mimetype == "application/problem+json"
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]


def test_revoked_key_is_refused(app: Flask, client: FlaskClient, make_key) -> None:
    key = make_key("read")
    assert client.get("/v1/messages/0123456789abcdef0123456789abcdef", headers=bearer(key)).status_code == 404
    with app.extensions["vigie"].session_factory() as session:
        revoke_key(session, key.split("_", 2)[1])
        session.commit()
    response = client.get("/v1/messages/0123456789abcdef0123456789abcdef", headers=bearer(key))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_tampered_secret_is_refused(client: FlaskClient, make_key) -> None:
    key = make_key("read")
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert client.get("/metrics", headers=bearer(tampered), environ_base=REMOTE).status_code == 401


@pytest.mark.parametrize(
    ("environ", "headers", "status"),
    [
        ({"REMOTE_ADDR": "127.0.0.1"}, {}, 200),
        ({"REMOTE_ADDR": "::1"}, {}, 200),
        (REMOTE, {}, 401),
        # A reverse proxy on the same host: the loopback exemption must not apply.
        ({"REMOTE_ADDR": "127.0.0.1"}, {"X-Forwarded-For": "203.0.113.9"}, 401),
    ],
)
def test_metrics_is_open_to_direct_loopback_only(
    client: FlaskClient, environ: dict[str, str], headers: dict[str, str], status: int
) -> None:
    assert client.get("/metrics", environ_base=environ, headers=headers).status_code == status


def test_metrics_with_an_admin_key_from_anywhere(client: FlaskClient, make_key) -> None:
    response = client.get("/metrics", environ_base=REMOTE, headers=bearer(make_key("admin")))
    assert response.status_code == 200
    assert "vigie_http_requests" in response.get_data(as_text=True)


def test_an_endpoint_without_a_declared_policy_fails_closed(make_app, make_key) -> None:
    app = make_app()

    @app.get("/undeclared")
    def undeclared() -> str:
        return "should not be reachable with a submit key"

    client = app.test_client()
    assert client.get("/undeclared", environ_base=REMOTE).status_code == 401
    assert client.get("/undeclared", headers=bearer(make_key("submit", "read"))).status_code == 403
    assert client.get("/undeclared", headers=bearer(make_key("admin"))).status_code == 200
