"""Rate limit, health and readiness, metrics: the operational surface of the API."""

from __future__ import annotations

import time

from flask.testing import FlaskClient
from redis import Redis

from api.ratelimit import WINDOW_S, RateLimiter
from tests.api.conftest import bearer, message_body
from tests.conftest import free_port


def test_rate_limit_answers_429_with_retry_after(make_app, make_key) -> None:
    app = make_app(rate_limit_per_minute=3)
    client = app.test_client()
    key = make_key("submit", "read")
    url = "/v1/messages/0123456789abcdef0123456789abcdef"

    statuses = [client.get(url, headers=bearer(key)).status_code for _ in range(4)]

    assert statuses == [404, 404, 404, 429]
    limited = client.get(url, headers=bearer(key))
    assert limited.mimetype == "application/problem+json"
    assert 1 <= int(limited.headers["Retry-After"]) <= WINDOW_S
    assert limited.headers["RateLimit-Remaining"] == "0"
    # Another key has its own budget.
    assert client.get(url, headers=bearer(make_key("read"))).status_code == 404


def test_rate_limit_windows_reset(redis_client: Redis, redis_url: str) -> None:
    now = [1_000_000.0 * WINDOW_S]
    limiter = RateLimiter(Redis.from_url(redis_url), 2, clock=lambda: now[0])
    decisions = [limiter.check("k") for _ in range(3)]
    assert [d.allowed for d in decisions if d] == [True, True, False]
    now[0] += WINDOW_S
    fresh = limiter.check("k")
    assert fresh is not None and fresh.allowed and fresh.remaining == 1
    assert all(0 < ttl <= 2 * WINDOW_S for ttl in (redis_client.ttl(k) for k in redis_client.keys("vigie:*")))


def test_rate_limit_fails_open_when_redis_is_down(unused_redis_url: str) -> None:
    calls: list[int] = []
    limiter = RateLimiter(Redis.from_url(unused_redis_url), 1, on_fail_open=lambda: calls.append(1))
    assert limiter.check("k") is None
    assert limiter.check("k") is None
    assert len(calls) == 2


def test_healthz_needs_nothing(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_ok_when_database_and_redis_answer(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_fails_when_redis_is_down(make_app, unused_redis_url: str) -> None:
    response = make_app(redis_url=unused_redis_url).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["checks"] == {"database": "ok", "redis": "failed"}
    assert "redis" in problem["detail"]
    assert unused_redis_url.split(":")[-1].split("/")[0] not in response.get_data(as_text=True)


def test_readyz_fails_when_the_database_is_unreachable(make_app) -> None:
    # A PostgreSQL server nobody runs: the connection is refused at once.
    app = make_app(database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/vigie")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "failed"


def test_metrics_count_requests_and_submissions(client: FlaskClient, submitter: dict[str, str]) -> None:
    client.post("/v1/messages", json=message_body(), headers=submitter)
    client.post("/v1/messages", json=message_body(), headers=submitter)
    client.post("/v1/listings", json={"external_id": "l1", "text": "Canapé"}, headers=submitter)
    client.get("/v1/messages/nope", headers=submitter)

    text = client.get("/metrics").get_data(as_text=True)

    assert 'vigie_submissions_total{kind="message",outcome="created"} 1.0' in text
    assert 'vigie_submissions_total{kind="message",outcome="replayed"} 1.0' in text
    assert 'vigie_submissions_total{kind="listing",outcome="created"} 1.0' in text
    assert (
        'vigie_http_requests_total{endpoint="submissions.create_message",method="POST",status="202"} 2.0'
        in text
    )
    assert (
        'vigie_http_requests_total{endpoint="submissions.get_message",method="GET",status="404"} 1.0' in text
    )
    assert (
        'vigie_http_request_duration_seconds_count{endpoint="submissions.create_listing",method="POST"} 1.0'
        in text
    )


def test_a_hung_redis_does_not_stall_requests_on_the_main_clients_timeout(
    make_app, make_key, hung_redis_url: str
) -> None:
    app = make_app(redis_url=hung_redis_url)
    client = app.test_client()
    headers = bearer(make_key("read"))

    started = time.monotonic()
    read = client.get("/v1/messages/0123456789abcdef0123456789abcdef", headers=headers)
    ready = client.get("/readyz")
    elapsed = time.monotonic() - started

    assert read.status_code == 404  # the rate limiter failed open
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["redis"] == "failed"
    # Not a speed target: with the main client (10 s socket timeout) these two requests would take
    # 20 s; the fast client bounds each Redis call at 0.5 s. The margin absorbs a loaded machine.
    assert elapsed < 8
