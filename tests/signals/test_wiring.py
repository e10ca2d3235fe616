"""The signals on both real scoring paths: the API's sync mode and an RQ worker."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moderation.models import Assessment
from moderation.settings import Settings
from tests.api.conftest import bearer
from tests.signals.test_pipeline import CODE, OFF_PLATFORM, OPENER, TEMPLATE
from workers.context import build_context, set_context
from workers.queues import enqueue_score
from workers.worker import make_worker


def test_sync_mode_holds_the_code_request_of_a_scripted_conversation(
    make_app: Callable[..., Any], make_key: Callable[..., str], scorer: Any
) -> None:
    app = make_app(scorer_loader=lambda: scorer, sync_budget_ms=10_000)
    client = app.test_client()
    headers = bearer(make_key("submit", "read"))
    verdicts = []
    for n, text in enumerate([OPENER, OFF_PLATFORM, CODE]):
        body = {
            "external_id": f"sync-{n}",
            "conversation_id": "conv-sync",
            "text": text,
            "lang": "fr",
            "sender": {"id": "scammer-sync"},
            "recipient": {"id": "victim"},
        }
        response = client.post("/v1/messages?mode=sync", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        verdicts.append(response.get_json()["assessment"])
    last = verdicts[-1]
    assert last["verdict"] == "hold"
    assert any(r["code"].startswith("conversation.") for r in last["reasons"])


def test_worker_scores_with_signals(
    settings: Settings, session_factory: sessionmaker[Session], scorer: Any
) -> None:
    from moderation.submissions import SubmissionContent, submit
    from scoring.types import Kind

    worker_settings = dataclasses.replace(settings, campaign_min_recipients=4)
    ctx = build_context(worker_settings, scorer)
    set_context(ctx)
    try:
        ids = []
        for i in range(6):
            with session_factory() as session:
                outcome = submit(
                    session,
                    SubmissionContent(
                        kind=Kind.MESSAGE,
                        external_id=f"worker-{i}",
                        text=TEMPLATE.format(name=f"Client{i}", item="table", price=30 + i),
                        conversation_id=f"conv-w{i}",
                        sender={"id": "bulk-sender", "account_age_days": 2},
                        recipient={"id": f"seller-{i}"},
                    ),
                    actor="key:test",
                )
                session.commit()
            ids.append(outcome.submission_id)
            enqueue_score(ctx.score_queue, outcome.submission_id, outcome.revision)
        assert make_worker(ctx).work(burst=True, logging_level="WARNING")
    finally:
        set_context(None)
        ctx.engine.dispose()
        ctx.redis.close()
    with session_factory() as session:
        rows = {a.submission_id: a for a in session.scalars(select(Assessment))}
    assert "campaign" not in rows[ids[2]].categories
    assert all("campaign" in rows[sid].categories for sid in ids[3:])
