"""POST /v1/messages/batch and /v1/listings/batch: per-item results in order, one transaction,
idempotency and conflicts per item, envelope problems, scopes, rate limit counted per item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from rq import Queue
from sqlalchemy import func, select

from api.schemas import BatchOut
from moderation.models import AuditEvent, Submission, SubmissionRevision
from tests.api.conftest import KeyMaker, bearer, message_body


def count(app: Flask, model: type) -> int:
    with app.extensions["vigie"].session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_each_item_is_answered_in_order_and_only_valid_items_are_stored(
    app: Flask, client: FlaskClient, submitter: dict[str, str]
) -> None:
    client.post("/v1/messages", json=message_body("taken", "premier texte"), headers=submitter)
    items: list[Any] = [
        message_body("b-0"),
        message_body("taken", "premier texte"),  # identical replay
        message_body("taken", "un autre texte"),  # same id, another body
        {**message_body("b-3"), "text": ""},  # invalid
        message_body("b-4"),
        message_body("b-0"),  # the same item twice in one batch: the second is a replay
    ]
    response = client.post("/v1/messages/batch", json={"items": items}, headers=submitter)

    assert response.status_code == 200
    results = BatchOut.model_validate(response.get_json()).items
    assert [r.index for r in results] == list(range(6))
    assert [r.status for r in results] == [201, 200, 409, 422, 201, 200]
    assert results[0].submission is not None and results[0].submission.status == "queued"
    assert results[5].submission == results[0].submission
    conflict = response.get_json()["items"][2]["problem"]
    assert conflict["type"] == "/problems/idempotency-conflict"
    assert conflict["existing_id"] == results[1].submission.id  # type: ignore[union-attr]
    invalid = response.get_json()["items"][3]["problem"]
    assert invalid["status"] == 422
    assert {"field": "items[3].text", "pointer": "/items/3/text"}.items() <= invalid["errors"][0].items()
    # Stored: the earlier single submission and b-0, b-4; each with a revision and an audit event.
    assert count(app, Submission) == 3
    assert count(app, SubmissionRevision) == 3
    with app.extensions["vigie"].session_factory() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "submission"))
        assert list(actions) == ["submission.created"] * 3
    read = client.get(f"/v1/messages/{results[4].submission.id}", headers=submitter)  # type: ignore[union-attr]
    assert read.status_code == 200 and read.get_json()["external_id"] == "b-4"


def test_listings_batch_revises_edited_listings(client: FlaskClient, submitter: dict[str, str]) -> None:
    listing = {"external_id": "l-1", "text": "Vélo de course", "title": "Vélo", "price": 120}
    first = client.post("/v1/listings/batch", json={"items": [listing]}, headers=submitter).get_json()
    edited = {**listing, "price": 100}
    second = client.post("/v1/listings/batch", json={"items": [edited, edited]}, headers=submitter).get_json()
    assert first["items"][0]["status"] == 201 and first["items"][0]["submission"]["revision"] == 1
    assert [i["status"] for i in second["items"]] == [201, 200]
    assert [i["submission"]["revision"] for i in second["items"]] == [2, 2]


def test_created_items_are_enqueued_after_commit_as_multi_item_jobs(
    app: Flask, client: FlaskClient, submitter: dict[str, str]
) -> None:
    items = [message_body(f"q-{i}") for i in range(5)]
    response = client.post("/v1/messages/batch", json={"items": items}, headers=submitter)
    ids = [i["submission"]["id"] for i in response.get_json()["items"]]
    queue: Queue = app.extensions["vigie"].queue
    jobs = [queue.fetch_job(job_id) for job_id in queue.job_ids]
    assert len(jobs) == 1 and jobs[0] is not None
    assert jobs[0].func_name == "workers.jobs.score_submissions"
    assert jobs[0].args[0] == [[sid, 1] for sid in ids]


def test_batched_dispatch_enqueues_nothing_from_the_api(
    make_app: Callable[..., Flask], make_key: KeyMaker
) -> None:
    app = make_app(dispatch="batched")
    from moderation.keys import create_key

    with app.extensions["vigie"].session_factory() as session:
        _, key = create_key(session, "batched", {"submit"})
        session.commit()
    response = app.test_client().post(
        "/v1/messages/batch", json={"items": [message_body("d-1")]}, headers=bearer(key)
    )
    assert response.get_json()["items"][0]["status"] == 201
    assert app.extensions["vigie"].queue.count == 0


def test_malformed_envelopes_are_a_422_problem_naming_the_field(
    make_app: Callable[..., Flask], make_key: KeyMaker
) -> None:
    app = make_app(batch_max_items=3)
    from moderation.keys import create_key

    with app.extensions["vigie"].session_factory() as session:
        _, key = create_key(session, "env", {"submit"})
        session.commit()
    client = app.test_client()
    cases: list[tuple[Any, str]] = [
        ([message_body()], "$"),
        ({}, "items"),
        ({"items": {}}, "items"),
        ({"items": []}, "items"),
        ({"items": [message_body(f"m-{i}") for i in range(4)]}, "items"),
        ({"items": [message_body()], "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = client.post("/v1/messages/batch", json=body, headers=bearer(key))
        assert response.status_code == 422, body
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["errors"][0]["field"] == field
    assert count(app, Submission) == 0
    assert (
        client.post(
            "/v1/messages/batch", data="{", headers={**bearer(key), "Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/v1/messages/batch", data="x", headers={**bearer(key), "Content-Type": "text/plain"}
        ).status_code
        == 415
    )


def test_batch_needs_the_submit_scope(client: FlaskClient, make_key: KeyMaker) -> None:
    body = {"items": [message_body()]}
    assert client.post("/v1/messages/batch", json=body).status_code == 401
    assert client.post("/v1/listings/batch", json=body, headers=bearer(make_key("read"))).status_code == 403


def test_each_item_counts_against_the_rate_limit(make_app: Callable[..., Flask]) -> None:
    app = make_app(rate_limit_per_minute=5)
    from moderation.keys import create_key

    with app.extensions["vigie"].session_factory() as session:
        _, key = create_key(session, "limited", {"submit"})
        session.commit()
    client = app.test_client()
    four = {"items": [message_body(f"r-{i}") for i in range(4)]}
    ok = client.post("/v1/messages/batch", json=four, headers=bearer(key))
    assert ok.status_code == 200 and ok.headers["RateLimit-Remaining"] == "1"
    over = client.post("/v1/messages/batch", json={"items": [message_body("r-8"), message_body("r-9")]},
                       headers=bearer(key))  # fmt: skip
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
    assert count(app, Submission) == 4  # nothing of the refused batch was stored
