"""/v1/review and /v1/audit over HTTP: a scam submitted through the API reaches the queue, is
claimed, decided with optimistic concurrency, undone, appealed; errors are problem+json."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from moderation.review_models import Moderator
from tests.api.conftest import bearer

SCAM = (
    "Bonjour, je vous paie par PayPal entre amis, envoyez-moi votre e-mail ou écrivez-moi sur "
    "WhatsApp au 06 12 34 56 78, mon transporteur passera récupérer l'article."
)
Login = Callable[..., tuple[Moderator, dict[str, str]]]
PROBLEM = "application/problem+json"


@pytest.fixture
def scored_app(make_app: Callable[..., Flask], scorer: Any) -> Flask:
    return make_app(scorer_loader=lambda: scorer, sync_budget_ms=5000)


@pytest.fixture
def api(scored_app: Flask) -> FlaskClient:
    return scored_app.test_client()


def submit_scam(api: FlaskClient, headers: dict[str, str], external_id: str = "m-1", text: str = SCAM) -> str:
    body = {"external_id": external_id, "conversation_id": "conv-9", "text": text, "lang": "fr",
            "sender": {"id": "seller-1", "account_age_days": 1}, "recipient": {"id": "buyer-1"}}  # fmt: skip
    response = api.post("/v1/messages?mode=sync", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["assessment"]["verdict"] in {"review", "hold"}
    return str(response.get_json()["id"])


def item_for(api: FlaskClient, headers: dict[str, str], submission_id: str) -> dict[str, Any]:
    items = api.get("/v1/review/items?status=open", headers=headers).get_json()["items"]
    return next(i for i in items if i["submission_id"] == submission_id)


def test_scam_from_the_api_is_claimed_decided_and_audited(
    api: FlaskClient, scored_app: Flask, moderator_login: Login
) -> None:
    platform = bearer(_key(scored_app, "submit", "read"))
    alice, as_alice = moderator_login()
    _bob, as_bob = moderator_login()
    sid = submit_scam(api, platform)

    listed = item_for(api, as_alice, sid)
    assert {"id", "submission_id", "priority", "categories", "due_at", "version"} <= listed.keys()
    assert listed["categories"] and listed["status"] == "open"

    detail = api.get(f"/v1/review/items/{listed['id']}", headers=as_alice)
    assert detail.status_code == 200 and detail.headers["ETag"] == f'"{listed["version"]}"'
    assert detail.get_json()["content"]["text"] == SCAM
    assert all(
        SCAM[r["span"][0] : r["span"][1]] == r["evidence"] for r in detail.get_json()["reasons"] if r["span"]
    )
    assert (
        api.get(
            f"/v1/review/items/{listed['id']}", headers={**as_alice, "If-None-Match": detail.headers["ETag"]}
        ).status_code
        == 304
    )

    claimed = api.post(f"/v1/review/items/{listed['id']}/claim", headers=as_alice)
    assert claimed.status_code == 200 and claimed.get_json()["claimed_by"] == alice.id
    refused = api.post(f"/v1/review/items/{listed['id']}/claim", headers=as_bob)
    assert refused.status_code == 409 and refused.mimetype == PROBLEM
    assert refused.get_json()["type"] == "/problems/claimed-by-another"

    stale = api.post(
        f"/v1/review/items/{listed['id']}/decision",
        json={"decision": "confirm_scam", "reason": "external_payment"},
        headers={**as_alice, "If-Match": detail.headers["ETag"]},  # read before the claim bumped the version
    )
    assert stale.status_code == 409 and stale.get_json()["type"] == "/problems/version-conflict"
    assert stale.get_json()["current_version"] == claimed.get_json()["version"]

    decided = api.post(
        f"/v1/review/items/{listed['id']}/decision",
        json={
            "decision": "confirm_scam",
            "reason": "external_payment",
            "version": claimed.get_json()["version"],
        },
        headers=as_alice,
    )
    assert decided.status_code == 201, decided.get_json()
    decision = decided.get_json()
    assert decision["actions"]["remove_content"] and decision["reason_text"]["fr"]
    remaining = api.get("/v1/review/items?status=open", headers=as_alice).get_json()["items"]
    assert listed["id"] not in {i["id"] for i in remaining}

    trail = api.get(f"/v1/audit?submission_id={sid}", headers=as_alice).get_json()
    actions = [e["action"] for e in trail["events"]]
    assert actions[:1] == ["submission.created"]
    assert {"assessment.created", "review_item.opened", "review_item.claimed", "decision.created"} <= set(
        actions
    )
    event = next(e for e in trail["events"] if e["action"] == "decision.created")
    assert event["actor"] == f"moderator:{alice.id}" and event["data"]["before"]["status"] == "open"

    undone = api.post(f"/v1/review/decisions/{decision['id']}/undo", headers=as_alice)
    assert undone.status_code == 200 and undone.get_json()["status"] == "open"
    assert api.post(f"/v1/review/decisions/{decision['id']}/undo", headers=as_alice).status_code == 409


def test_audit_pagination(api: FlaskClient, scored_app: Flask, moderator_login: Login) -> None:
    platform = bearer(_key(scored_app, "submit", "read"))
    _, headers = moderator_login()
    sid = submit_scam(api, platform)
    first = api.get(f"/v1/audit?submission_id={sid}&limit=1", headers=headers).get_json()
    assert len(first["events"]) == 1 and first["next_cursor"]
    second = api.get(
        f"/v1/audit?submission_id={sid}&limit=1&cursor={first['next_cursor']}", headers=headers
    ).get_json()
    assert second["events"][0]["id"] > first["events"][0]["id"]
    assert api.get("/v1/audit", headers=headers).status_code == 422


def test_appeal_reopens_for_another_moderator(
    api: FlaskClient, scored_app: Flask, moderator_login: Login
) -> None:
    platform = bearer(_key(scored_app, "submit", "read"))
    _alice, as_alice = moderator_login()
    _bob, as_bob = moderator_login()
    item = item_for(api, as_alice, submit_scam(api, platform))
    url = f"/v1/review/items/{item['id']}"
    assert (
        api.post(
            f"{url}/decision", json={"decision": "confirm_scam", "reason": "phishing"}, headers=as_alice
        ).status_code
        == 201
    )
    assert (
        api.post(f"{url}/appeal", json={"text": "x"}, headers=as_alice).status_code == 403
    )  # moderate ≠ submit
    appealed = api.post(f"{url}/appeal", json={"text": "Je suis de bonne foi."}, headers=platform)
    assert appealed.status_code == 202
    assert api.post(f"{url}/appeal", json={"text": "encore"}, headers=platform).status_code == 409
    own = api.post(f"{url}/claim", headers=as_alice)
    assert own.status_code == 403 and own.get_json()["type"] == "/problems/not-permitted"
    body = {"decision": "not_scam", "reason": "legitimate", "statement": "Vente vérifiée, merci."}
    second = api.post(f"{url}/decision", json=body, headers=as_bob)
    assert second.status_code == 201
    assert second.get_json()["on_appeal"] and second.get_json()["statement"] == "Vente vérifiée, merci."


def test_errors_are_problem_json(api: FlaskClient, scored_app: Flask, moderator_login: Login) -> None:
    service_key = bearer(_key(scored_app, "moderate"))
    _, headers = moderator_login()
    not_moderator = api.get("/v1/review/items", headers=service_key)
    assert (
        not_moderator.status_code == 403 and not_moderator.get_json()["type"] == "/problems/not-a-moderator"
    )
    assert api.get("/v1/review/items").status_code == 401
    missing = api.get("/v1/review/items/nope", headers=headers)
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    assert api.get("/v1/review/items?status=weird", headers=headers).status_code == 422
    assert api.get("/v1/review/items?cursor=%%%", headers=headers).status_code == 422
    bad = api.post("/v1/review/items/nope/decision", json={"decision": "ban", "reason": "x"}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "decision"


def test_escalate_and_assign(api: FlaskClient, scored_app: Flask, moderator_login: Login) -> None:
    platform = bearer(_key(scored_app, "submit", "read"))
    _, as_alice = moderator_login()
    bob, as_bob = moderator_login()
    _, as_senior = moderator_login(senior=True)
    item = item_for(api, as_alice, submit_scam(api, platform))
    url = f"/v1/review/items/{item['id']}"
    assigned = api.post(f"{url}/assign", json={"moderator_id": bob.id}, headers=as_alice)
    assert assigned.status_code == 200 and assigned.get_json()["claimed_by"] == bob.id
    escalated = api.post(f"{url}/escalate", json={"note": "Domaine douteux"}, headers=as_bob)
    assert escalated.get_json()["queue"] == "senior"
    assert api.post(f"{url}/claim", headers=as_alice).status_code == 403
    assert api.post(f"{url}/claim", headers=as_senior).status_code == 200
    senior_queue = api.get("/v1/review/items?queue=senior", headers=as_senior).get_json()["items"]
    assert [i["id"] for i in senior_queue] == [item["id"]]


def _key(app: Flask, *scopes: str) -> str:
    from moderation.keys import create_key

    with app.extensions["vigie"].session_factory() as session:
        _, plaintext = create_key(session, "platform", set(scopes))
        session.commit()
    return plaintext
