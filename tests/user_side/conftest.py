"""User-side fixtures: the API app (real Redis, SQLite/PostgreSQL) with the session's scorer, a
platform key, a moderator who decides through the domain service, and small request helpers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation import decisions, review
from moderation.clock import utcnow
from moderation.moderators import create_moderator
from moderation.review_models import Moderator, ReviewItem
from tests.api.conftest import api_settings, bearer, make_app, make_key  # noqa: F401 - fixtures

FAKE_PAYMENT_TEXT = (
    "Bonjour, je vous ai payé via le service sécurisé, validez la réception des fonds ici : "
    "https://leboncoin.fr.reception-fonds.com/secure"
)
FAKE_DOMAIN = "leboncoin.fr.reception-fonds.com"
HONEST_TEXTS = (
    "Bonjour, l'annonce est toujours disponible ? Je peux passer samedi matin.",
    "Merci pour l'envoi, le colis est bien arrivé, tout est parfait.",
    "Est-ce que le vélo a des traces d'usure ? Vous pouvez m'envoyer une photo ici ?",
)
_ids = itertools.count(1)


@pytest.fixture
def app(make_app: Callable[..., Flask], scorer: Any) -> Flask:  # noqa: F811
    """The API with the session's scorer and a generous sync budget (a slow CI must not fall back)."""
    return make_app(scorer_loader=lambda: scorer, sync_budget_ms=10_000, rate_limit_per_minute=100_000)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def platform(make_key: Callable[..., str]) -> dict[str, str]:  # noqa: F811
    """Headers of the messaging service: submit and read."""
    return bearer(make_key("submit", "read"))


def new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def send_message(
    client: FlaskClient,
    headers: dict[str, str],
    text: str,
    *,
    conversation_id: str = "conv-1",
    external_id: str | None = None,
    locale: str | None = None,
    sender: dict[str, Any] | None = None,
    sync: bool = True,
) -> dict[str, Any]:
    """POST a message (scored in process unless `sync` is False); returns the response body."""
    body: dict[str, Any] = {
        "external_id": external_id or new_id("msg"),
        "conversation_id": conversation_id,
        "text": text,
        "sender": sender or {"id": "seller-1", "account_age_days": 1},
        "recipient": {"id": "buyer-1", **({"locale": locale} if locale else {})},
    }
    response = client.post("/v1/messages" + ("?mode=sync" if sync else ""), json=body, headers=headers)
    assert response.status_code in (200, 202), response.get_json()
    data: dict[str, Any] = response.get_json()
    if sync:
        assert data["status"] == "scored"
    return data


@pytest.fixture
def session_of(app: Flask) -> Callable[[], Session]:
    """New sessions on the app's database."""
    return app.extensions["vigie"].session_factory  # type: ignore[no-any-return]


@pytest.fixture
def moderator(session_of: Callable[[], Session]) -> Moderator:
    with session_of() as session:
        mod, _key = create_moderator(session, f"mod{next(_ids)}@example.org", "Modo", "correct horse battery")
        session.commit()
    return mod


def item_of(session: Session, submission_id: str) -> ReviewItem:
    return session.scalars(select(ReviewItem).where(ReviewItem.submission_id == submission_id)).one()


def claim_item(session_of: Callable[[], Session], moderator: Moderator, submission_id: str) -> None:
    with session_of() as session:
        review.claim(session, item_of(session, submission_id).id, moderator, utcnow(), timedelta(minutes=5))
        session.commit()


def decide_item(
    session_of: Callable[[], Session], moderator: Moderator, submission_id: str, decision: str, reason: str
) -> int:
    """A moderator decision through the domain service (the listeners run in its transaction)."""
    with session_of() as session:
        row = decisions.decide(
            session, item_of(session, submission_id).id, moderator, decision, reason, utcnow()
        )
        session.commit()
        return row.id


@pytest.fixture
def make_key_for() -> Callable[..., dict[str, str]]:
    """Headers with a new key holding `scopes` (default submit, read) in `app`'s database."""
    from moderation.keys import create_key

    def make(app: Flask, *scopes: str) -> dict[str, str]:
        with app.extensions["vigie"].session_factory() as session:
            _, plaintext = create_key(session, new_id("key"), set(scopes or ("submit", "read")))
            session.commit()
        return bearer(plaintext)

    return make
