"""User reports through the API: filing, dedupe, scoring unseen content, status with reasons and
expected delay, reporter reputation and resistance to mass false reporting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation import reputation, review
from moderation.clock import utcnow
from moderation.review_models import Moderator
from moderation.user_models import ReporterReputation, UserReport
from tests.user_side.conftest import (
    FAKE_PAYMENT_TEXT,
    HONEST_TEXTS,
    claim_item,
    decide_item,
    item_of,
    new_id,
    send_message,
)

SCAM_TEXTS = (
    FAKE_PAYMENT_TEXT,
    "Contactez moi sur whatsapp au 06 12 34 56 78 et payez par paypal ami",
    "Envoyez moi le code reçu par SMS svp, c'est pour valider la vente",
)


def file_report(client: FlaskClient, headers: dict[str, str], **fields: Any) -> tuple[int, dict[str, Any]]:
    body = {"reporter_id": "buyer-1", "kind": "message", "reason": "scam", **fields}
    response = client.post("/v1/reports", json=body, headers=headers)
    return response.status_code, response.get_json()


def status_of(client: FlaskClient, headers: dict[str, str], report_id: str, lang: str = "") -> dict[str, Any]:
    response = client.get(f"/v1/reports/{report_id}" + (f"?lang={lang}" if lang else ""), headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_report_status_moves_from_received_to_in_review_to_action_taken_with_the_reason(
    client: FlaskClient, platform: dict[str, str], moderator: Moderator, session_of: Callable[[], Session]
) -> None:
    message = send_message(client, platform, SCAM_TEXTS[1])
    code, created = file_report(
        client, platform, external_id=message["external_id"], reason="off_platform", text="Il veut WhatsApp"
    )
    assert code == 201
    assert created["status"] == "received"
    assert created["lang"] == "fr" and "bien reçu" in created["statement"]
    assert created["queue_position"] == 0 and created["expected_delay_s"] > 0
    assert created["expected_delay_basis"]

    claim_item(session_of, moderator, message["id"])
    in_review = status_of(client, platform, created["id"])
    assert in_review["status"] == "in_review"
    assert "examine" in in_review["statement"]

    decide_item(session_of, moderator, message["id"], "confirm_scam", "external_payment")
    done = status_of(client, platform, created["id"])
    assert done["status"] == "action_taken"
    assert "Paiement hors plateforme demandé" in done["statement"]
    assert done["decided_at"] is not None and done["expected_delay_s"] is None
    english = status_of(client, platform, created["id"], lang="en")
    assert english["lang"] == "en" and "Off-platform payment requested" in english["statement"]


def test_not_scam_decision_gives_no_violation_in_the_reporters_language(
    client: FlaskClient, platform: dict[str, str], moderator: Moderator, session_of: Callable[[], Session]
) -> None:
    message = send_message(client, platform, HONEST_TEXTS[1])
    code, report = file_report(
        client, platform, external_id=message["external_id"], reason="scam", reporter_locale="en-US"
    )
    assert code == 201 and report["lang"] == "en"
    decide_item(session_of, moderator, message["id"], "not_scam", "legitimate")
    done = status_of(client, platform, report["id"])
    assert done["status"] == "no_violation"
    assert "Honest exchange" in done["statement"] and "no violation" in done["statement"]


def test_a_repeat_report_returns_the_existing_one(
    client: FlaskClient, platform: dict[str, str], session_of: Callable[[], Session]
) -> None:
    message = send_message(client, platform, SCAM_TEXTS[0])
    code1, first = file_report(client, platform, external_id=message["external_id"])
    code2, second = file_report(client, platform, external_id=message["external_id"], reason="fake_payment")
    assert (code1, code2) == (201, 200)
    assert first["id"] == second["id"] and second["reason"] == "scam"
    with session_of() as session:
        item = item_of(session, message["id"])
        assert item.report_count == 1
        assert (
            session.scalar(
                select(ReporterReputation.reports).where(ReporterReputation.reporter_id == "buyer-1")
            )
            == 1
        )


def test_unknown_content_with_an_excerpt_is_scored_at_once(
    client: FlaskClient, platform: dict[str, str], session_of: Callable[[], Session]
) -> None:
    external_id = new_id("never-seen")
    code, report = file_report(client, platform, external_id=external_id, excerpt=SCAM_TEXTS[2])
    assert code == 201
    with session_of() as session:
        row = session.get(UserReport, report["id"])
        assert row is not None and row.submission_id is not None
        item = item_of(session, row.submission_id)
    assert item.verdict in {"review", "hold"} and item.score is not None and item.score > 0.5
    assert "account_takeover" in item.categories and item.report_count == 1
    message = client.get(f"/v1/messages/{row.submission_id}", headers=platform).get_json()
    assert message["status"] == "scored" and message["assessment"]["verdict"] == item.verdict


def test_known_but_unscored_content_is_scored_when_reported(
    client: FlaskClient, platform: dict[str, str], session_of: Callable[[], Session]
) -> None:
    message = send_message(client, platform, SCAM_TEXTS[1], sync=False)  # queued, no worker running
    assert message["status"] == "queued"
    code, _ = file_report(client, platform, external_id=message["external_id"])
    assert code == 201
    assert client.get(f"/v1/messages/{message['id']}", headers=platform).get_json()["status"] == "scored"
    with session_of() as session:
        assert item_of(session, message["id"]).score is not None


def test_unknown_content_without_an_excerpt_is_refused(client: FlaskClient, platform: dict[str, str]) -> None:
    code, problem = file_report(client, platform, external_id=new_id("never-seen"))
    assert code == 422 and problem["type"] == "/problems/unknown-item"
    assert problem["errors"][0]["field"] == "excerpt"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"reason": "dislike"}, "reason"),
        ({"kind": "user"}, "kind"),
        ({"reporter_locale": "<script>"}, "reporter_locale"),
        ({"text": "x" * 2001}, "text"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_reports_name_the_field(
    client: FlaskClient, platform: dict[str, str], fields: dict[str, Any], field: str
) -> None:
    code, problem = file_report(client, platform, external_id="m-1", **fields)
    assert code == 422
    assert field in {e["field"] for e in problem["errors"]}


def test_report_routes_need_their_scopes(client: FlaskClient, make_key_for, app) -> None:  # type: ignore[no-untyped-def]
    read_only = make_key_for(app, "read")
    assert client.post("/v1/reports", json={}, headers=read_only).status_code == 403
    assert client.get("/v1/reports/nope", headers=read_only).status_code == 404
    assert client.get("/v1/reports/nope").status_code == 401


def test_fifty_reports_from_one_reporter_on_honest_content_stay_below_real_scams(
    client: FlaskClient, platform: dict[str, str], session_of: Callable[[], Session]
) -> None:
    scams = [send_message(client, platform, text)["id"] for text in SCAM_TEXTS]
    honest = [
        send_message(client, platform, HONEST_TEXTS[i % len(HONEST_TEXTS)] + f" (annonce {i})")
        for i in range(25)
    ]
    honest_ids = [m["id"] for m in honest]
    honest_external = [m["external_id"] for m in honest]
    # 50 reports: each honest message twice (the repeat is deduplicated) by the same reporter.
    weights = []
    for external_id in honest_external * 2:
        code, report = file_report(client, platform, reporter_id="troll-1", external_id=external_id)
        assert code in (200, 201)
        with session_of() as session:
            weights.append(session.get(UserReport, report["id"]).weight)  # type: ignore[union-attr]
    assert max(weights) <= reputation.WEIGHT_MAX and min(weights) >= reputation.WEIGHT_MIN
    assert weights[-1] < weights[0] / 4, "a burst is down-weighted"

    with session_of() as session:
        queue, _ = review.list_items(session, review.ItemFilter(), utcnow(), limit=100)
        order = [item.submission_id for item in queue]
        assert set(order[: len(scams)]) == set(scams), "real scams stay at the top of the queue"
        assert all(item_of(session, sid).report_count == 1 for sid in honest_ids)


def test_reputation_follows_moderator_outcomes(
    client: FlaskClient, platform: dict[str, str], moderator: Moderator, session_of: Callable[[], Session]
) -> None:
    for i, text in enumerate(SCAM_TEXTS):
        message = send_message(client, platform, text)
        file_report(client, platform, reporter_id="good-eye", external_id=message["external_id"])
        decide_item(session_of, moderator, message["id"], "confirm_scam", "other_scam")
        honest = send_message(client, platform, HONEST_TEXTS[i])
        file_report(client, platform, reporter_id="false-alarm", external_id=honest["external_id"])
        decide_item(session_of, moderator, honest["id"], "not_scam", "legitimate")
    now = utcnow()
    with session_of() as session:
        good = reputation.reporter_weight(session, "good-eye", now)
        bad = reputation.reporter_weight(session, "false-alarm", now)
    assert (good.confirmed, good.rejected, bad.confirmed, bad.rejected) == (3, 0, 0, 3)
    assert good.weight > 1.5 > 1.0 > 0.5 > bad.weight


def test_expected_delay_uses_the_median_pace_of_recent_decisions(
    client: FlaskClient, platform: dict[str, str], moderator: Moderator, session_of: Callable[[], Session]
) -> None:
    for text in (*HONEST_TEXTS, *HONEST_TEXTS):
        message = send_message(client, platform, text + " " + new_id("x"))
        file_report(client, platform, reporter_id="someone", external_id=message["external_id"])
        decide_item(session_of, moderator, message["id"], "not_scam", "legitimate")
    waiting = send_message(client, platform, SCAM_TEXTS[0])
    _, report = file_report(client, platform, reporter_id="someone-else", external_id=waiting["external_id"])
    assert report["status"] == "received"
    assert "median interval between the last 6 decisions" in report["expected_delay_basis"]
    # The six decisions above came within seconds: the estimate reflects that pace, not the default.
    assert report["queue_position"] == 0 and 0 < report["expected_delay_s"] < 60
