"""XSS payloads in every free-text field a moderator sees, read back through the console's
public pages (queue and item page): they come out escaped, never as live markup."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from moderation.keys import create_key
from moderation.moderators import create_moderator
from moderation.review_models import ReviewItem
from workers.scoring import score_and_record

PAYLOADS = [
    '<script>alert("xss")</script>',
    "<img src=x onerror=alert(1)>",
    '"><svg/onload=alert(2)>',
    "javascript:alert(3)//",
    "</textarea><iframe srcdoc='<script>alert(4)</script>'>",
]
SCAM = "Payez par PayPal entre amis puis écrivez-moi sur WhatsApp au 06 12 34 56 78, mon transporteur passe."
PASSWORD = "correct horse battery staple 42"
LIVE_MARKUP = re.compile(r"<script>alert|<img src=x|<svg/onload|<iframe srcdoc", re.IGNORECASE)


def _log_in(client: FlaskClient, email: str) -> None:
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    response = client.post(
        "/console/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 303


@pytest.fixture
def hostile_item(app: Flask, scorer: Any) -> str:
    """A listing whose every free-text field carries XSS, scored into the review queue."""
    svc = app.extensions["vigie"]
    with svc.session_factory() as session:
        _, key = create_key(session, "xss", {"submit"})
        create_moderator(session, "xss-mod@example.org", "Modo", PASSWORD)
        session.commit()
    payload = " ".join(PAYLOADS)
    body = {
        "external_id": "xss-1",
        "title": f"iPhone {payload}",
        "text": f"{SCAM} {payload}",
        "category": f"phones {PAYLOADS[1]}",
        "price": 100,
    }
    created = app.test_client().post("/v1/listings", json=body, headers={"Authorization": f"Bearer {key}"})
    assert created.status_code == 202
    submission_id = created.get_json()["id"]
    outcome = score_and_record(svc.session_factory, scorer, submission_id, 1, emit_webhook=False)
    assert outcome.verdict in {"review", "hold"}, outcome
    with svc.session_factory() as session:
        return session.scalars(select(ReviewItem.id).where(ReviewItem.submission_id == submission_id)).one()


def test_console_pages_escape_hostile_content(app: Flask, hostile_item: str) -> None:
    client = app.test_client()
    _log_in(client, "xss-mod@example.org")
    pages = {"queue": client.get("/console/"), "item": client.get(f"/console/items/{hostile_item}")}
    for name, response in pages.items():
        assert response.status_code == 200, name
        html_text = response.get_data(as_text=True)
        assert not LIVE_MARKUP.search(html_text), f"live markup on the {name} page"
        assert "script-src 'self'" in response.headers.get("Content-Security-Policy", "")
    # The content is there, escaped (the moderator can read what the scammer wrote).
    item_page = pages["item"].get_data(as_text=True)
    assert "&lt;script&gt;" in item_page or "&lt;img src=x" in item_page
