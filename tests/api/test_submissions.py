"""Submitting and reading messages and listings: status codes, idempotency, enqueue after commit."""

from __future__ import annotations

from flask.testing import FlaskClient
from rq import Queue

from tests.api.conftest import bearer, message_body


def test_message_is_accepted_queued_and_readable(client: FlaskClient, submitter: dict[str, str]) -> None:
    response = client.post("/v1/messages", json=message_body(), headers=submitter)

    assert response.status_code == 202
    body = response.get_json()
    assert body["kind"] == "message"
    assert body["external_id"] == "msg-1"
    assert body["revision"] == 1
    assert body["status"] == "queued"
    assert response.headers["Location"] == f"/v1/messages/{body['id']}"

    read = client.get(response.headers["Location"], headers=submitter)
    assert read.status_code == 200
    view = read.get_json()
    assert view["id"] == body["id"]
    assert view["conversation_id"] == "conv-1"
    assert view["status"] == "queued"
    assert view["assessment"] is None


def test_score_job_is_enqueued_after_commit(client: FlaskClient, submitter: dict[str, str], app) -> None:
    response = client.post("/v1/messages", json=message_body(), headers=submitter)
    submission_id = response.get_json()["id"]

    queue: Queue = app.extensions["vigie"].queue
    assert queue.job_ids == [f"score-{submission_id}-1"]
    job = queue.fetch_job(f"score-{submission_id}-1")
    assert job is not None
    assert job.func_name == "workers.jobs.score_submission"
    assert list(job.args) == [submission_id, 1]


def test_identical_replay_returns_the_same_submission_without_a_second_job(
    client: FlaskClient, submitter: dict[str, str], app
) -> None:
    first = client.post("/v1/messages", json=message_body(), headers=submitter)
    replay = client.post("/v1/messages", json=message_body(), headers=submitter)

    assert replay.status_code == 202
    assert replay.get_json() == first.get_json()
    assert replay.headers["Location"] == first.headers["Location"]
    assert app.extensions["vigie"].queue.count == 1


def test_message_replayed_with_another_body_is_a_409_naming_external_id(
    client: FlaskClient, submitter: dict[str, str]
) -> None:
    first = client.post("/v1/messages", json=message_body(), headers=submitter)
    conflict = client.post("/v1/messages", json=message_body(text="un autre texte"), headers=submitter)

    assert conflict.status_code == 409
    assert conflict.mimetype == "application/problem+json"
    problem = conflict.get_json()
    assert problem["errors"] == [{"field": "external_id", "message": "already used with a different body"}]
    assert problem["existing_id"] == first.get_json()["id"]


def test_edited_listing_becomes_a_new_revision(client: FlaskClient, submitter: dict[str, str], app) -> None:
    listing = {"external_id": "ad-42", "title": "Vélo", "text": "Vélo de ville, bon état.", "price": 120}
    first = client.post("/v1/listings", json=listing, headers=submitter)
    edited = client.post("/v1/listings", json={**listing, "price": 100}, headers=submitter)

    assert first.status_code == edited.status_code == 202
    assert edited.get_json()["id"] == first.get_json()["id"]
    assert edited.get_json()["revision"] == 2
    assert edited.headers["Location"].startswith("/v1/listings/")
    read = client.get(edited.headers["Location"], headers=submitter).get_json()
    assert read["revision"] == 2
    queue: Queue = app.extensions["vigie"].queue
    assert sorted(queue.job_ids) == sorted(f"score-{first.get_json()['id']}-{rev}" for rev in (1, 2))


def test_messages_and_listings_are_separate_namespaces(
    client: FlaskClient, submitter: dict[str, str]
) -> None:
    message = client.post("/v1/messages", json=message_body("same-id"), headers=submitter)
    listing = client.post("/v1/listings", json={"external_id": "same-id", "text": "Table"}, headers=submitter)

    assert message.status_code == listing.status_code == 202
    assert message.get_json()["id"] != listing.get_json()["id"]
    # A message id is not readable as a listing.
    wrong_kind = client.get(f"/v1/listings/{message.get_json()['id']}", headers=submitter)
    assert wrong_kind.status_code == 404
    assert wrong_kind.mimetype == "application/problem+json"


def test_unknown_submission_is_404(client: FlaskClient, submitter: dict[str, str]) -> None:
    response = client.get("/v1/messages/0123456789abcdef0123456789abcdef", headers=submitter)
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


def test_submission_succeeds_when_redis_is_down(make_app, make_key, unused_redis_url: str) -> None:
    app = make_app(redis_url=unused_redis_url)
    key = make_key("submit", "read")  # same database as `app`

    response = app.test_client().post("/v1/messages", json=message_body(), headers=bearer(key))

    # Committed as queued: the sweeper enqueues it once Redis is back.
    assert response.status_code == 202
    assert response.get_json()["status"] == "queued"
    metrics = app.extensions["vigie"].metrics
    assert metrics.enqueue_failures._value.get() == 1
    assert metrics.ratelimit_fail_open._value.get() == 1


def test_batched_dispatch_leaves_enqueueing_to_the_workers_dispatcher(make_app, make_key) -> None:
    app = make_app(dispatch="batched")
    response = app.test_client().post("/v1/messages", json=message_body(), headers=bearer(make_key("submit")))

    assert response.status_code == 202
    assert response.get_json()["status"] == "queued"
    # Committed as queued; the dispatcher thread in the workers claims it from the database.
    assert app.extensions["vigie"].queue.count == 0
