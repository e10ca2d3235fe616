"""Per-key request rate limit, counted in Redis so every API process shares the budget.

Fixed one-minute windows: one Lua call per request (INCRBY, and EXPIRE when the window's
counter is new), so one round trip and one command; a batch counts as its number of items.
A burst of up to 2x the limit is possible across a window boundary; that is acceptable for
abuse protection and far cheaper than a sliding log.
If Redis is unreachable the limiter FAILS OPEN: accepting content to score matters more
than throttling, and the outage is logged (at most once per interval) and counted.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, g
from redis import Redis
from redis.exceptions import RedisError

from api.problems import Problem

log = logging.getLogger(__name__)

WINDOW_S = 60
# INCRBY the window's counter; set its expiry only when this call created it (saves a command per request).
_COUNT_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return count
"""
_FAIL_OPEN_LOG_INTERVAL_S = 30.0


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the current window ends


class RateLimiter:
    """Counts requests per key id in Redis and refuses those beyond `limit_per_minute`."""

    def __init__(
        self,
        redis: Redis,
        limit_per_minute: int,
        *,
        clock: Callable[[], float] = time.time,
        on_fail_open: Callable[[], None] | None = None,
    ) -> None:
        self._redis = redis
        self.limit = limit_per_minute
        self._clock = clock
        self._on_fail_open = on_fail_open
        self._last_fail_log = -math.inf
        self._lock = threading.Lock()
        # EVALSHA, falling back to EVAL once per connection when the server lost its script cache.
        self._count = redis.register_script(_COUNT_SCRIPT)

    def check(self, key_id: str, cost: int = 1) -> RateDecision | None:
        """Count `cost` requests for `key_id`; None when Redis is unreachable (fail open) or limiting
        is off."""
        if self.limit <= 0:
            return None
        now = self._clock()
        window = int(now // WINDOW_S)
        reset_s = max(1, math.ceil((window + 1) * WINDOW_S - now))
        counter = f"vigie:ratelimit:{key_id}:{window}"
        try:
            count = self._count(keys=[counter], args=[cost, WINDOW_S * 2])
        except RedisError as exc:
            self._fail_open(exc)
            return None
        count = int(count)
        return RateDecision(count <= self.limit, self.limit, max(0, self.limit - count), reset_s)

    def enforce(self, key_id: str, cost: int = 1) -> None:
        """Count `cost` requests; raise a 429 Problem (with Retry-After) when `key_id` is over its budget
        for this window."""
        decision = self.check(key_id, cost)
        if decision is None:
            return
        g.rate_decision = decision
        if not decision.allowed:
            raise Problem(
                429,
                "rate-limited",
                f"More than {decision.limit} requests per minute for this key; retry later.",
                headers={"Retry-After": str(decision.reset_s), **rate_headers(decision)},
            )

    def _fail_open(self, exc: RedisError) -> None:
        if self._on_fail_open is not None:
            self._on_fail_open()
        with self._lock:
            now = time.monotonic()
            if now - self._last_fail_log < _FAIL_OPEN_LOG_INTERVAL_S:
                return
            self._last_fail_log = now
        log.warning("rate limiter failing open: redis unreachable (%s)", type(exc).__name__)


def rate_headers(decision: RateDecision) -> dict[str, str]:
    """The informational RateLimit-* headers (IETF draft names) for a decision."""
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_s),
    }


def add_rate_headers(response: Response) -> Response:
    """after_request hook: expose the caller's remaining budget on successful responses too."""
    decision: RateDecision | None = g.get("rate_decision")
    if decision is not None:
        for name, value in rate_headers(decision).items():
            response.headers.setdefault(name, value)
    return response
