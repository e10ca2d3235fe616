"""/openapi.json documents every route, its security and its problem+json responses; /docs is
self-contained; real responses match the documented schemas."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from api.auth import policy_for
from api.openapi import ROUTES, UNDOCUMENTED_BLUEPRINTS
from api.schemas import SubmissionOut
from tests.api.conftest import message_body


def test_every_route_of_the_app_is_documented(app: Flask) -> None:
    documented = {(r.endpoint, r.method.upper()) for r in ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".", 1)[0] in UNDOCUMENTED_BLUEPRINTS:
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert (rule.endpoint, method) in documented, rule.rule


def test_the_html_console_is_not_in_the_json_api_document(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert paths and not [path for path in paths if path.startswith("/console")]
    assert {r.endpoint.split(".", 1)[0] for r in ROUTES}.isdisjoint(UNDOCUMENTED_BLUEPRINTS)


def test_keyed_operations_document_503_with_retry_after(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if op["security"]:
                assert "Retry-After" in op["responses"]["503"]["headers"], (method, path)


def test_spec_is_openapi_31_with_security_from_the_access_policies(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    schemas = spec["components"]["schemas"]
    for name in ("MessageIn", "ListingIn", "SenderIn", "SubmissionOut", "ProblemOut"):
        assert name in schemas
    for route in ROUTES:
        op = spec["paths"][route.path][route.method]
        policy = policy_for(app, route.endpoint)
        if policy.public:
            assert op["security"] == []
            continue
        assert {"bearerKey": sorted(policy.scopes)} in op["security"]
        assert {"401", "403", "429", "500"} <= op["responses"].keys()
        assert "application/problem+json" in op["responses"]["401"]["content"]


def test_submit_operations_document_every_error_and_the_sync_mode(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    op = spec["paths"]["/v1/messages"]["post"]
    assert {"200", "202", "400", "409", "413", "415", "422"} <= op["responses"].keys()
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MessageIn"
    }
    assert [p["name"] for p in op["parameters"]] == ["mode"]
    message = spec["components"]["schemas"]["MessageIn"]
    assert {"external_id", "conversation_id", "text"} <= set(message["required"])
    assert message["additionalProperties"] is False


def test_every_ref_resolves(client: FlaskClient) -> None:
    raw = client.get("/openapi.json").get_data(as_text=True)
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    for name in re.findall(r'"#/components/schemas/([^"]+)"', raw):
        assert name in schemas


def test_docs_page_is_self_contained(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "openapi.json" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_responses_match_the_documented_models(client: FlaskClient, submitter: dict[str, str]) -> None:
    accepted = client.post("/v1/messages", json=message_body(), headers=submitter)
    SubmissionOut.model_validate(accepted.get_json())
    SubmissionOut.model_validate(client.get(accepted.headers["Location"], headers=submitter).get_json())
