"""Redis-backed, time-bounded counters of the signals: which accounts used an entity, how fast a
sender writes, to how many conversations, how far a template reached.

Every structure is a sorted set scored by time. A `Touch` adds a member at `now` (idempotent:
re-scoring a message after a retry adds nothing), trims members older than its window and beyond its
cap, refreshes the key's expiry to one window, and counts the members seen since `count_since_s`.
Memory is therefore bounded by one window of traffic, whatever happens. Entity values and sender ids
are hashed before they become key names or members, so phone numbers and e-mail addresses never
appear in Redis in clear.

All the touches of one message run as ONE server-side Lua call (`TOUCH_SCRIPT`), queued on the
caller's pipeline: a batch of 50 messages costs one round trip and ~50 commands instead of ~1,500
(redis-py spends more CPU packing commands than Redis spends running them). The script is sent with
EVAL rather than EVALSHA: redis-py checks registered scripts with an extra SCRIPT EXISTS round trip
on every pipeline, which costs more than the few hundred bytes of script text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from redis.client import Pipeline

PREFIX = "vigie:sig"
# A set never holds more members than this (a scripted sender cannot grow one without bound).
MAX_MEMBERS = 5000
MINUTE_S = 60.0
HOUR_S = 3600.0

# KEYS: sorted sets. ARGV[1]: now; then 4 per key: member ("" = count only), window_s, cap, since_s.
# Returns the count of members scored in [now - since_s, +inf) for each key, in order.
TOUCH_SCRIPT = """
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local base = 1 + (i - 1) * 4
  local member = ARGV[base + 1]
  local window = tonumber(ARGV[base + 2])
  if member ~= "" then
    redis.call("ZADD", key, now, member)
    redis.call("ZREMRANGEBYSCORE", key, "-inf", now - window)
    redis.call("ZREMRANGEBYRANK", key, 0, -(tonumber(ARGV[base + 3]) + 1))
    redis.call("EXPIRE", key, math.max(1, math.floor(window)))
  end
  out[i] = redis.call("ZCOUNT", key, now - tonumber(ARGV[base + 4]), "+inf")
end
return out
"""


def digest(value: str) -> str:
    """Short stable hash used in key names and members (16 hex characters of BLAKE2b)."""
    return hashlib.blake2b(value.encode("utf-8"), digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class Touch:
    """Add `member` (None: only count) to the time-scored set `key`; count what is newer than
    `count_since_s` (default: the whole window)."""

    key: str
    member: str | None
    window_s: float
    cap: int = MAX_MEMBERS
    count_since_s: float | None = None


def queue_touches(pipe: Pipeline, touches: Sequence[Touch], now: float) -> int:
    """Queue one script call for `touches`; returns its pipeline index (the result is the list of
    counts, one per touch)."""
    args: list[str | float | int] = [now]
    for t in touches:
        since = t.count_since_s if t.count_since_s is not None else t.window_s
        args += [t.member or "", t.window_s, t.cap, since]
    index = len(pipe)
    pipe.eval(TOUCH_SCRIPT, len(touches), *[t.key for t in touches], *args)
    return index


def entity_touches(entity_key: str, sender_id: str | None, window_s: float, payment: bool) -> list[Touch]:
    """The accounts seen with an entity (count first), then, with a sender, its own index of
    entities (payment identities apart: count of distinct payees it asked money for)."""
    member = digest(sender_id) if sender_id else None
    touches = [Touch(f"{PREFIX}:ent:{digest(entity_key)}", member, window_s)]
    if sender_id:
        index = "snd-pay" if payment else "snd-ent"
        touches.append(Touch(f"{PREFIX}:{index}:{digest(sender_id)}", digest(entity_key), window_s))
    return touches


def sender_touches(sender_id: str, message_id: str, conversation_id: str | None) -> list[Touch]:
    """Counts, in order: the sender's messages in the last minute, in the last hour, and its
    distinct conversations in the last hour (this message included)."""
    messages = f"{PREFIX}:snd-msg:{digest(sender_id)}"
    conversations = f"{PREFIX}:snd-conv:{digest(sender_id)}"
    return [
        Touch(messages, message_id, HOUR_S, count_since_s=MINUTE_S),
        Touch(messages, None, HOUR_S),
        Touch(conversations, digest(conversation_id) if conversation_id else None, HOUR_S),
    ]
