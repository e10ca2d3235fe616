"""Safety warnings through the API: issued for scam messages, in the recipient's language, carried
by the verdict webhook, cleared or upgraded by moderators, with telemetry."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.models import WebhookEvent
from moderation.review_models import Moderator
from tests.api.conftest import bearer
from tests.user_side.conftest import (
    FAKE_DOMAIN,
    FAKE_PAYMENT_TEXT,
    HONEST_TEXTS,
    decide_item,
    new_id,
    send_message,
)


def warnings_of(
    client: FlaskClient, headers: dict[str, str], conversation_id: str, lang: str = ""
) -> list[dict]:
    query = f"?lang={lang}" if lang else ""
    response = client.get(f"/v1/conversations/{conversation_id}/warnings{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["warnings"]  # type: ignore[no-any-return]


def test_scam_message_gives_recipient_a_french_warning_naming_the_fake_domain(
    client: FlaskClient, platform: dict[str, str]
) -> None:
    conv = new_id("conv")
    message = send_message(client, platform, FAKE_PAYMENT_TEXT, conversation_id=conv)
    assert message["assessment"]["verdict"] in {"review", "hold"}

    warnings = warnings_of(client, platform, conv)
    by_category = {w["category"]: w for w in warnings}
    assert len(by_category) == len(warnings), "one warning per category"
    fake_payment = by_category["fake_secure_payment"]
    assert fake_payment["lang"] == "fr"
    assert fake_payment["severity"] == "danger"
    assert fake_payment["message_id"] == message["external_id"]
    assert FAKE_DOMAIN in fake_payment["body"]
    assert "ne saisissez jamais votre carte pour *recevoir* un paiement" in fake_payment["body"].lower()
    assert "paiement du site" in fake_payment["body"]
    assert {"type": "report", "label": "Signaler ce message"} in fake_payment["actions"]
    assert fake_payment["catalogue_version"]
    # Most severe first.
    order = ["danger", "caution", "info"]
    assert [order.index(w["severity"]) for w in warnings] == sorted(
        order.index(w["severity"]) for w in warnings
    )


def test_language_follows_recipient_locale_and_query_overrides_it(
    client: FlaskClient, platform: dict[str, str]
) -> None:
    conv = new_id("conv")
    send_message(client, platform, FAKE_PAYMENT_TEXT, conversation_id=conv, locale="en-GB")
    english = warnings_of(client, platform, conv)
    assert english and all(w["lang"] == "en" for w in english)
    fake = next(w for w in english if w["category"] == "fake_secure_payment")
    assert "Never enter your card details to *receive* a payment" in fake["body"]
    assert FAKE_DOMAIN in fake["body"]

    french = warnings_of(client, platform, conv, lang="fr")
    assert {w["id"] for w in french} == {w["id"] for w in english}
    assert all(w["lang"] == "fr" for w in french)
    bad = client.get(f"/v1/conversations/{conv}/warnings?lang=de", headers=platform)
    assert bad.status_code == 422


def test_honest_messages_get_no_warning(client: FlaskClient, platform: dict[str, str]) -> None:
    conv = new_id("conv")
    for text in HONEST_TEXTS:
        assert send_message(client, platform, text, conversation_id=conv)["assessment"]["verdict"] == "allow"
    assert warnings_of(client, platform, conv) == []


def test_off_platform_and_payment_warnings_name_channel_and_method(
    client: FlaskClient, platform: dict[str, str]
) -> None:
    conv = new_id("conv")
    send_message(
        client,
        platform,
        "Contactez moi sur whatsapp au 06 12 34 56 78 et payez par paypal ami",
        conversation_id=conv,
    )
    by_category = {w["category"]: w for w in warnings_of(client, platform, conv)}
    assert "WhatsApp" in by_category["off_platform"]["body"]
    assert "PayPal « entre proches »" in by_category["external_payment"]["body"]


def test_verdict_webhook_carries_the_warnings(
    make_app: Callable[..., Flask], scorer: object, make_key_for
) -> None:
    app = make_app(scorer_loader=lambda: scorer, sync_budget_ms=10_000, webhook_url="http://127.0.0.1:9/hook")
    client = app.test_client()
    headers = make_key_for(app)
    conv = new_id("conv")
    message = send_message(client, headers, FAKE_PAYMENT_TEXT, conversation_id=conv)
    with app.extensions["vigie"].session_factory() as session:
        event = session.scalars(
            select(WebhookEvent).where(
                WebhookEvent.subject_id == message["id"], WebhookEvent.event_type == "assessment.created"
            )
        ).one()
    carried = event.payload["data"]["warnings"]
    assert {w["id"] for w in carried} == {w["id"] for w in warnings_of(client, headers, conv)}
    assert any(FAKE_DOMAIN in w["body"] and w["lang"] == "fr" for w in carried)


def test_not_scam_decision_clears_the_warning_and_confirm_scam_upgrades_it(
    client: FlaskClient,
    platform: dict[str, str],
    moderator: Moderator,
    session_of: Callable[[], Session],
) -> None:
    cleared_conv, scam_conv = new_id("conv"), new_id("conv")
    # A scam the moderator confirms, and a flagged message the moderator judges honest.
    scam = send_message(
        client,
        platform,
        "Contactez moi sur whatsapp au 06 12 34 56 78 et payez par paypal ami",
        conversation_id=scam_conv,
    )
    flagged = send_message(client, platform, FAKE_PAYMENT_TEXT, conversation_id=cleared_conv)
    assert warnings_of(client, platform, cleared_conv)

    decide_item(session_of, moderator, flagged["id"], "not_scam", "legitimate")
    assert warnings_of(client, platform, cleared_conv) == []

    before = warnings_of(client, platform, scam_conv)
    assert any(w["severity"] != "danger" for w in before)
    decide_item(session_of, moderator, scam["id"], "confirm_scam", "external_payment")
    after = warnings_of(client, platform, scam_conv)
    assert {w["id"] for w in after} == {w["id"] for w in before}
    assert all(w["severity"] == "danger" for w in after)


def test_confirmed_scam_without_a_warning_gets_one(
    client: FlaskClient, platform: dict[str, str], moderator: Moderator, session_of: Callable[[], Session]
) -> None:
    conv = new_id("conv")
    message = send_message(client, platform, HONEST_TEXTS[0], conversation_id=conv)
    assert warnings_of(client, platform, conv) == []
    report = client.post(
        "/v1/reports",
        json={
            "reporter_id": "buyer-1",
            "external_id": message["external_id"],
            "kind": "message",
            "reason": "scam",
        },
        headers=platform,
    )
    assert report.status_code == 201
    decide_item(session_of, moderator, message["id"], "confirm_scam", "other_scam")
    [warning] = warnings_of(client, platform, conv)
    assert warning["category"] == "confirmed_scam" and warning["severity"] == "danger"
    assert "arnaque" in warning["body"]


def test_telemetry_events_are_stored_counted_and_exported(
    client: FlaskClient, platform: dict[str, str], make_key_for, app: Flask
) -> None:
    conv = new_id("conv")
    send_message(client, platform, FAKE_PAYMENT_TEXT, conversation_id=conv)
    warning = next(w for w in warnings_of(client, platform, conv) if w["category"] == "fake_secure_payment")
    for event in ("shown", "shown", "clicked_through", "dismissed", "reported"):
        response = client.post(
            f"/v1/warnings/{warning['id']}/events", json={"event": event}, headers=platform
        )
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["category"] == "fake_secure_payment"

    assert (
        client.post("/v1/warnings/nope/events", json={"event": "shown"}, headers=platform).status_code == 404
    )
    bad = client.post(f"/v1/warnings/{warning['id']}/events", json={"event": "liked"}, headers=platform)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "event"

    stats = client.get("/v1/warnings/stats", headers=platform).get_json()["categories"]["fake_secure_payment"]
    assert stats["issued"] == stats["active"] == 1
    assert (stats["shown"], stats["clicked_through"], stats["dismissed"], stats["reported"]) == (2, 1, 1, 1)
    assert stats["click_through_rate"] == 0.5

    metrics = client.get("/metrics", headers=make_key_for(app, "admin")).get_data(as_text=True)
    assert 'vigie_warning_events_total{category="fake_secure_payment",event="shown"} 2.0' in metrics


def test_scopes(client: FlaskClient, make_key_for, app: Flask) -> None:
    read_only = make_key_for(app, "read")
    submit_only = make_key_for(app, "submit")
    assert client.get("/v1/warnings/stats", headers=read_only).status_code == 200
    assert client.get("/v1/warnings/stats", headers=submit_only).status_code == 403
    assert client.get("/v1/conversations/c/warnings", headers=submit_only).status_code == 403
    assert client.post("/v1/warnings/x/events", json={"event": "shown"}, headers=read_only).status_code == 403
    assert client.get("/v1/warnings/stats").status_code == 401
    assert client.get("/v1/warnings/stats", headers=bearer("vg_nope_nope")).status_code == 401
