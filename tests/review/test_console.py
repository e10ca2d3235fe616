"""The console through Flask's test client: login (CSRF, rate limit, no open redirect), queue,
item page (escaped content, highlighted evidence, masked then revealed personal data), actions,
statistics, and the security headers."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moderation.models import AuditEvent
from moderation.review_models import Moderator, ReviewItem
from tests.review.conftest import PASSWORD

Login = Callable[..., tuple[Moderator, dict[str, str]]]
HOSTILE = (
    'Payez ici <script>alert("x")</script><b>gras</b> PayPal entre amis, 06 12 34 56 78 ou moi@exemple.fr'
)


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token in the page"
    return match.group(1)


def log_in(client: FlaskClient, email: str, password: str = PASSWORD, next_url: str = "") -> int:
    token = csrf(client.get("/console/login").get_data(as_text=True))
    response = client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token, "next": next_url}
    )
    return response.status_code


@pytest.fixture
def console(app: Flask, moderator_login: Login) -> tuple[FlaskClient, Moderator]:
    moderator, _ = moderator_login()
    client = app.test_client()
    assert log_in(client, moderator.email) == 303
    return client, moderator


def test_pages_need_a_login_and_post_needs_the_csrf_token(app: Flask, moderator_login: Login) -> None:
    client = app.test_client()
    response = client.get("/console/")
    assert response.status_code == 303 and "/console/login" in response.headers["Location"]
    moderator, _ = moderator_login()
    client.get("/console/login")
    no_token = client.post("/console/login", data={"email": moderator.email, "password": PASSWORD})
    assert no_token.status_code == 403
    assert log_in(client, moderator.email, "wrong password!") == 401
    response = client.get("/console/login")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self';")
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    token = csrf(response.get_data(as_text=True))
    form = {
        "email": moderator.email,
        "password": PASSWORD,
        "csrf_token": token,
        "next": "https://evil.example/",
    }
    ok = client.post("/console/login", data=form)
    assert ok.status_code == 303 and ok.headers["Location"] == "/console/"
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_login_is_rate_limited(app: Flask, moderator_login: Login) -> None:
    moderator, _ = moderator_login()
    client = app.test_client()
    statuses = [log_in(client, moderator.email, f"guess-{i}-wrong") for i in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert log_in(client, moderator.email) == 429  # even the right password, until the window passes


def test_item_page_escapes_content_highlights_evidence_and_masks_personal_data(
    console: tuple[FlaskClient, Moderator],
    store_message: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    client, moderator = console
    sid = store_message(text=HOSTILE)
    with session_factory() as session:
        item_id = session.scalars(select(ReviewItem.id).where(ReviewItem.submission_id == sid)).one()
    queue = client.get("/console/").get_data(as_text=True)
    assert item_id in queue
    page = client.get(f"/console/items/{item_id}").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>gras</b>" not in page
    shown = html.unescape(
        re.sub(r"<[^>]+>", "", re.search(r'<div class="msg-text">(.*?)</div>', page, re.S)[1])
    )
    assert shown.startswith('Payez ici <script>alert("x")</script><b>gras</b> PayPal entre amis')
    # The test reason's span (12, 29) is highlighted, escaped like everything else.
    assert re.search(
        r'<mark class="evidence"[^>]*>' + re.escape(str(escape(HOSTILE[12:29]))) + "</mark>", page
    )
    assert "06 12 34 56 78" not in page and "moi@exemple.fr" not in page
    assert "[téléphone masqué]" in page and "[e-mail masqué]" in page

    revealed = client.post(f"/console/items/{item_id}/reveal", data={"csrf_token": csrf(page)})
    assert revealed.status_code == 303
    page = client.get(f"/console/items/{item_id}").get_data(as_text=True)
    assert "06 12 34 56 78" in page and "moi@exemple.fr" in page
    with session_factory() as session:
        audit_row = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "personal_data.revealed")
        ).one()
    assert audit_row.actor == f"moderator:{moderator.id}" and audit_row.subject_id == sid


def test_claim_decide_undo_and_stats(
    console: tuple[FlaskClient, Moderator],
    store_message: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    client, _ = console
    sid = store_message()
    with session_factory() as session:
        item_id = session.scalars(select(ReviewItem.id).where(ReviewItem.submission_id == sid)).one()
    page = client.get(f"/console/items/{item_id}").get_data(as_text=True)
    token = csrf(page)
    assert client.post(f"/console/items/{item_id}/claim", data={"csrf_token": token}).status_code == 303
    page = client.get(f"/console/items/{item_id}").get_data(as_text=True)
    assert 'id="claimed-by-me"' in page
    version = re.search(r'data-version="(\d+)"', page).group(1)  # type: ignore[union-attr]
    decided = client.post(
        f"/console/items/{item_id}/decision",
        data={"csrf_token": token, "version": version, "decision": "confirm_scam",
              "reason_confirm_scam": "external_payment"},
    )  # fmt: skip
    assert decided.status_code == 303 and "/console/next" in decided.headers["Location"]
    queue = client.get("/console/").get_data(as_text=True)
    assert item_id not in queue and "undo-form" in queue
    decision_id = re.search(r"/console/decisions/(\d+)/undo", queue).group(1)  # type: ignore[union-attr]
    assert (
        client.post(f"/console/decisions/{decision_id}/undo", data={"csrf_token": token}).status_code == 303
    )
    assert item_id in client.get("/console/").get_data(as_text=True)
    stats = client.get("/console/stats")
    assert stats.status_code == 200
    html = stats.get_data(as_text=True)
    assert '<svg id="queue-chart"' in html and "<polyline" in html and '<svg id="precision-chart"' in html
