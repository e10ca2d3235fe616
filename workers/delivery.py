"""HTTP delivery of one webhook outbox event, with retry classification.

2xx: delivered. Network errors, 408, 429 and 5xx: transient, retried with exponential backoff and
jitter until `settings.webhook_max_attempts`. Any other status: permanent, the event is `failed`.
Redirects are not followed: a signed event goes to the configured URL or nowhere.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from moderation import webhooks
from moderation.clock import utcnow
from moderation.models import WebhookEvent
from moderation.settings import Settings

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class DeliveryResult:
    """status: "delivered", "retry" (transient failure, next attempt scheduled), "failed" (gave up),
    "skipped" (not pending, or webhooks disabled), "missing"."""

    event_id: str
    status: str
    http_status: int | None = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def deliver_event(
    session_factory: sessionmaker[Session], settings: Settings, event_id: str, now: datetime | None = None
) -> DeliveryResult:
    """POST one pending event to `settings.webhook_url`, signed, and record the outcome; commits."""
    if not settings.webhook_url:
        return DeliveryResult(event_id, "skipped")
    with session_factory() as session:
        event = session.get(WebhookEvent, event_id)
        if event is None:
            return DeliveryResult(event_id, "missing")
        if event.status != "pending":
            return DeliveryResult(event_id, "skipped")
        body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
        event_type, attempts = event.event_type, event.attempts
    http_status, error = _post(settings, event_id, event_type, body)
    now = now or utcnow()
    with session_factory() as session:
        if http_status is not None and 200 <= http_status < 300:
            webhooks.mark_delivered(session, event_id, now)
            result = DeliveryResult(event_id, "delivered", http_status)
        else:
            transient = http_status is None or http_status >= 500 or http_status in TRANSIENT_STATUSES
            exhausted = attempts + 1 >= settings.webhook_max_attempts
            delay = webhooks.backoff_delay(attempts + 1, base_s=settings.webhook_backoff_base_s)
            next_at = now + delay if transient and not exhausted else None
            webhooks.mark_failed_attempt(session, event_id, error, next_at, permanent=not transient)
            result = DeliveryResult(event_id, "retry" if next_at else "failed", http_status)
        session.commit()
    log.info("webhook event=%s type=%s outcome=%s http=%s", event_id, event_type, result.status, http_status)
    return result


def _post(settings: Settings, event_id: str, event_type: str, body: bytes) -> tuple[int | None, str]:
    """Send the request; (HTTP status or None on a network error, short error text)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "vigie-webhooks/1",
        webhooks.EVENT_ID_HEADER: event_id,
        webhooks.EVENT_TYPE_HEADER: event_type,
        webhooks.SIGNATURE_HEADER: webhooks.sign(settings.webhook_secret.encode(), int(time.time()), body),
    }
    request = urllib.request.Request(settings.webhook_url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=settings.webhook_timeout_s) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
