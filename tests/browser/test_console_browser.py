"""The console in headless Chromium: a scam submitted through the API is queued with highlighted
evidence, decided by keyboard, announced by a signed webhook to a real local receiver, and audited;
hostile HTML in a message stays inert text."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from moderation import webhooks
from tests.browser.conftest import PASSWORD, WEBHOOK_SECRET, Receiver, Stack
from workers.context import build_context, set_context
from workers.worker import make_worker

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "var" / "test-output" / "console-item.png"
SCAM = (
    "Bonjour, je vous paie par PayPal entre amis, envoyez-moi votre e-mail ou écrivez-moi sur "
    "WhatsApp au 06 12 34 56 78, mon transporteur passera récupérer l'article."
)
HOSTILE = (
    'Paiement PayPal entre amis uniquement <script>alert("xss")</script><img src=x onerror="alert(1)">'
    " <b>urgent</b>, contactez-moi sur WhatsApp au 06 12 34 56 78."
)


def submit(stack: Stack, external_id: str, text: str) -> dict[str, Any]:
    body = {"external_id": external_id, "conversation_id": "conv-b", "text": text, "lang": "fr",
            "sender": {"id": "seller-b", "account_age_days": 2}, "recipient": {"id": "buyer-b"}}  # fmt: skip
    result = stack.api("POST", "/v1/messages?mode=sync", body)
    assert result["assessment"]["verdict"] in {"review", "hold"}, result["assessment"]
    return result  # type: ignore[no-any-return]


def log_in(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.base_url}/console/")
    page.fill("input[name=email]", stack.moderator_email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#queue-table")


def deliver_webhooks(stack: Stack, scorer: Any) -> None:
    """Run a worker in burst mode: it delivers the queued webhook events, as in production."""
    ctx = build_context(stack.settings, scorer)
    set_context(ctx)
    try:
        make_worker(ctx).work(burst=True, logging_level="WARNING")
    finally:
        set_context(None)
        ctx.engine.dispose()
        ctx.redis.close()


def test_scam_is_decided_by_keyboard_webhooked_and_audited(
    page: Any, stack: Stack, receiver: Receiver, scorer: Any
) -> None:
    submission = submit(stack, "b-1", SCAM)
    log_in(page, stack)
    row = page.locator(".queue-row").first
    item_id = row.get_attribute("data-item-id")
    row.locator("a").click()
    page.wait_for_selector("#subject-message mark.evidence")
    assert page.locator("#subject-message mark.evidence").count() >= 1
    assert "06 12 34 56 78" not in page.content()  # masked everywhere (message, evidence) until revealed
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.keyboard.press("c")
    page.wait_for_selector("#claimed-by-me")
    page.keyboard.press("s")
    page.wait_for_selector("#queue-table")  # decided: on to the next item, here the empty queue
    assert page.locator(f'.queue-row[data-item-id="{item_id}"]').count() == 0
    assert "Escroquerie confirmée" in page.inner_text("main")

    deliver_webhooks(stack, scorer)
    decisions = [
        (headers, body)
        for headers, body in receiver.requests
        if headers.get("Vigie-Event-Type") == "decision.created"
    ]
    assert len(decisions) == 1
    headers, body = decisions[0]
    assert webhooks.verify(WEBHOOK_SECRET.encode(), headers["Vigie-Signature"], body, time.time())
    data = json.loads(body)["data"]
    assert (data["submission_id"], data["decision"], data["external_id"]) == (
        submission["id"],
        "confirm_scam",
        "b-1",
    )

    trail = stack.api("GET", f"/v1/audit?submission_id={submission['id']}")
    actions = [e["action"] for e in trail["events"]]
    assert "decision.created" in actions and "review_item.claimed" in actions


def test_hostile_html_in_a_message_is_shown_as_inert_text(page: Any, stack: Stack) -> None:
    submit(stack, "b-2", HOSTILE)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, stack)
    page.locator(".queue-row a").first.click()
    page.wait_for_selector("#subject-message")
    text = page.inner_text("#subject-message .msg-text")
    assert '<script>alert("xss")</script>' in text and '<img src=x onerror="alert(1)">' in text
    assert page.locator("#subject-message script, #subject-message img, #subject-message b").count() == 0
    page.click("#reveal-button")
    page.wait_for_selector("#subject-message")
    assert "06 12 34 56 78" in page.inner_text("#subject-message")
    page.keyboard.press("j")  # the keyboard works here too; nothing executed meanwhile
    page.wait_for_load_state()
    assert dialogs == []
