"""Signed webhook delivery to a real local HTTP server: retries on 5xx, gives up on 4xx."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moderation import webhooks
from moderation.models import Assessment, WebhookEvent
from moderation.settings import Settings
from moderation.submissions import SubmitOutcome
from workers.context import WorkerContext, build_context, set_context
from workers.sweeper import sweep_once
from workers.worker import make_worker

SECRET = "whsec-test-secret"


@dataclass
class Receiver:
    """A local HTTP endpoint answering with the next status of `script` (the last one repeats)."""

    script: list[int]
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def next_status(self) -> int:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(script=[200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((dict(self.headers.items()), body))
            self.send_response(state.next_status())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/vigie"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def hook_ctx(settings: Settings, scorer: object, receiver: Receiver) -> Iterator[WorkerContext]:
    hooked = replace(settings, webhook_url=receiver.url, webhook_secret=SECRET, webhook_max_attempts=3)
    ctx = build_context(hooked, scorer)  # type: ignore[arg-type]
    set_context(ctx)
    yield ctx
    set_context(None)
    ctx.engine.dispose()
    ctx.redis.close()


def score_and_deliver(ctx: WorkerContext, outcome: SubmitOutcome) -> None:
    from workers.queues import enqueue_score

    assert enqueue_score(ctx.score_queue, outcome.submission_id, outcome.revision)
    make_worker(ctx).work(burst=True, logging_level="WARNING")


def only_event(session_factory: sessionmaker[Session]) -> WebhookEvent:
    with session_factory() as session:
        return session.scalars(select(WebhookEvent)).one()


def test_verdict_is_delivered_signed(
    hook_ctx: WorkerContext,
    receiver: Receiver,
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    outcome = submit_message()
    score_and_deliver(hook_ctx, outcome)
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    event = only_event(session_factory)
    assert event.status == "delivered" and event.attempts == 1 and event.delivered_at is not None
    assert headers["Content-Type"] == "application/json"
    assert headers["Vigie-Event-Id"] == event.id and headers["Vigie-Event-Type"] == "assessment.created"
    assert webhooks.verify(SECRET.encode(), headers["Vigie-Signature"], body, now=time.time())
    assert not webhooks.verify(b"another secret", headers["Vigie-Signature"], body, now=time.time())
    sent = json.loads(body)
    with session_factory() as session:
        assessment = session.scalars(select(Assessment)).one()
    assert sent["id"] == event.id and sent["type"] == "assessment.created"
    assert sent["data"]["submission_id"] == outcome.submission_id and sent["data"]["external_id"] == "msg-1"
    assert sent["data"]["verdict"] == assessment.verdict and sent["data"]["revision"] == 1


def test_server_error_is_retried_then_delivered(
    hook_ctx: WorkerContext,
    receiver: Receiver,
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    receiver.script = [500, 200]
    score_and_deliver(hook_ctx, submit_message())
    event = only_event(session_factory)
    assert event.status == "pending" and event.attempts == 1 and event.last_error == "HTTP 500"
    # Not due yet: the sweeper waits for the backoff.
    assert (
        sweep_once(
            session_factory, hook_ctx.score_queue, hook_ctx.settings, webhook_queue=hook_ctx.webhook_queue
        )
        == 0
    )
    due = event.next_attempt_at + timedelta(seconds=1)
    assert (
        sweep_once(session_factory, hook_ctx.score_queue, hook_ctx.settings, due, hook_ctx.webhook_queue) == 1
    )
    make_worker(hook_ctx).work(burst=True, logging_level="WARNING")
    event = only_event(session_factory)
    assert event.status == "delivered" and event.attempts == 2
    assert [h["Vigie-Event-Id"] for h, _ in receiver.requests] == [event.id, event.id]


def test_client_error_marks_the_event_failed(
    hook_ctx: WorkerContext,
    receiver: Receiver,
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    receiver.script = [400]
    score_and_deliver(hook_ctx, submit_message())
    event = only_event(session_factory)
    assert event.status == "failed" and event.attempts == 1
    later = event.next_attempt_at + timedelta(hours=1)
    assert (
        sweep_once(session_factory, hook_ctx.score_queue, hook_ctx.settings, later, hook_ctx.webhook_queue)
        == 0
    )
    assert len(receiver.requests) == 1


def test_unreachable_receiver_gives_up_after_max_attempts(
    hook_ctx: WorkerContext,
    receiver: Receiver,
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
) -> None:
    receiver.script = [503]
    score_and_deliver(hook_ctx, submit_message())
    for _ in range(hook_ctx.settings.webhook_max_attempts - 1):
        event = only_event(session_factory)
        assert event.status == "pending"
        due = event.next_attempt_at + timedelta(seconds=1)
        sweep_once(session_factory, hook_ctx.score_queue, hook_ctx.settings, due, hook_ctx.webhook_queue)
        make_worker(hook_ctx).work(burst=True, logging_level="WARNING")
    event = only_event(session_factory)
    assert event.status == "failed" and event.attempts == hook_ctx.settings.webhook_max_attempts
