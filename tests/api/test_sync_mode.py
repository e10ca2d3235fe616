"""?mode=sync: a verdict in the response within the budget, otherwise 202 and the queue."""

from __future__ import annotations

import threading
from typing import Any

from tests.api.conftest import bearer, message_body

SCAM = (
    "Bonjour, je prends l'article. Je vous paie par PayPal entre amis, "
    "contactez-moi sur WhatsApp au 06 12 34 56 78 pour finaliser."
)
HONEST = "Bonjour, le vélo est-il toujours disponible ? Je peux passer samedi vers 10h."


def test_sync_scam_returns_a_verdict(make_app, make_key, scorer: Any) -> None:
    app = make_app(scorer_loader=lambda: scorer, sync_budget_ms=10_000)
    client = app.test_client()
    headers = bearer(make_key("submit", "read"))

    response = client.post("/v1/messages?mode=sync", json=message_body(text=SCAM), headers=headers)

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "scored"
    assessment = body["assessment"]
    assert assessment["verdict"] in {"review", "hold"}
    assert "external_payment" in assessment["categories"]
    for reason in assessment["reasons"]:
        if reason["span"] is not None and reason["field"] == "text":
            assert SCAM[reason["span"][0] : reason["span"][1]] == reason["evidence"]
    # Scored in process: no job was needed.
    assert app.extensions["vigie"].queue.count == 0
    # The stored verdict is what GET returns, and a replay answers 200 from the database.
    assert client.get(response.headers["Location"], headers=headers).get_json() == body
    for url in ("/v1/messages", "/v1/messages?mode=sync"):
        replay = client.post(url, json=message_body(text=SCAM), headers=headers)
        assert replay.status_code == 200
        assert replay.get_json()["assessment"] == assessment
    # Verdicts are counted once, when scored, not per replay.
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'vigie_verdicts_total{{verdict="{assessment["verdict"]}"}} 1.0' in metrics


def test_sync_honest_message_is_allowed(make_app, make_key, scorer: Any) -> None:
    app = make_app(scorer_loader=lambda: scorer, sync_budget_ms=10_000)
    response = app.test_client().post(
        "/v1/messages?mode=sync", json=message_body(text=HONEST), headers=bearer(make_key("submit"))
    )
    assert response.status_code == 200
    assert response.get_json()["assessment"]["verdict"] == "allow"


def test_sync_past_the_budget_answers_202_and_enqueues(make_app, make_key, scorer: Any) -> None:
    released = threading.Event()

    def slow_loader() -> Any:
        # A model load that outlasts the budget (a cold process).
        released.wait(timeout=10)
        return scorer

    app = make_app(scorer_loader=slow_loader, sync_budget_ms=50)
    response = app.test_client().post(
        "/v1/messages?mode=sync", json=message_body(text=SCAM), headers=bearer(make_key("submit"))
    )
    released.set()

    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued"
    assert app.extensions["vigie"].queue.job_ids == [f"score-{body['id']}-1"]
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'vigie_sync_fallbacks_total{reason="budget"} 1.0' in metrics
