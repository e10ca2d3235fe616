"""Redis-backed, time-bounded counters of the signals: which accounts used an entity, how fast a
sender writes, to how many conversations.

Every structure is a sorted set scored by time: an update is `ZADD` (idempotent: re-scoring a
message after a retry adds nothing), old members are trimmed by score on every write, sets are capped
by rank, and each key expires one window after its last write. Memory is therefore bounded by the
traffic of one window, whatever happens. Entity values are hashed before they become key names, so
phone numbers and e-mail addresses never appear in Redis in clear.

Commands are queued on a caller's pipeline (`queue_*`) and read back from its results, so that a
whole batch of messages costs one round trip for all counters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from redis.client import Pipeline

PREFIX = "vigie:sig"
# A set never holds more members than this (a scripted sender cannot grow one without bound).
MAX_MEMBERS = 5000
MINUTE_S = 60.0
HOUR_S = 3600.0

Reader = Callable[[list[Any]], int]


def digest(value: str) -> str:
    """Short stable hash used in key names (16 hex characters of BLAKE2b)."""
    return hashlib.blake2b(value.encode("utf-8"), digest_size=8).hexdigest()


def entity_key(entity_key_: str) -> str:
    """Redis key of the accounts seen with one entity."""
    return f"{PREFIX}:ent:{digest(entity_key_)}"


def sender_entities_key(sender_id: str) -> str:
    """Redis key of the entities one sender used (hashed)."""
    return f"{PREFIX}:snd-ent:{digest(sender_id)}"


def sender_messages_key(sender_id: str) -> str:
    return f"{PREFIX}:snd-msg:{digest(sender_id)}"


def sender_conversations_key(sender_id: str) -> str:
    return f"{PREFIX}:snd-conv:{digest(sender_id)}"


def _touch(pipe: Pipeline, key: str, member: str, now: float, window_s: float) -> None:
    """Add `member` at `now`, trim what is older than the window or beyond the cap, expire the key."""
    pipe.zadd(key, {member: now})
    pipe.zremrangebyscore(key, "-inf", now - window_s)
    pipe.zremrangebyrank(key, 0, -(MAX_MEMBERS + 1))
    pipe.expire(key, max(1, int(window_s)))


def queue_entity(pipe: Pipeline, key: str, sender_id: str | None, now: float, window_s: float) -> Reader:
    """Record that `sender_id` used the entity `key` (None: count only); the reader returns the number
    of distinct accounts seen with it in the window (the current one included)."""
    rkey = entity_key(key)
    if sender_id:
        _touch(pipe, rkey, sender_id, now, window_s)
        _touch(pipe, sender_entities_key(sender_id), digest(key), now, window_s)
    index = len(pipe)
    pipe.zcount(rkey, now - window_s, "+inf")
    return lambda results: int(results[index])


def queue_sender_activity(
    pipe: Pipeline, sender_id: str, message_id: str, conversation_id: str | None, now: float
) -> tuple[Reader, Reader, Reader]:
    """Record one message of `sender_id`; readers return its messages in the last minute and hour and
    its distinct conversations in the last hour (this message included)."""
    msgs = sender_messages_key(sender_id)
    convs = sender_conversations_key(sender_id)
    _touch(pipe, msgs, message_id, now, HOUR_S)
    if conversation_id:
        _touch(pipe, convs, conversation_id, now, HOUR_S)
    per_minute = len(pipe)
    pipe.zcount(msgs, now - MINUTE_S, "+inf")
    pipe.zcount(msgs, now - HOUR_S, "+inf")
    pipe.zcount(convs, now - HOUR_S, "+inf")
    return (
        lambda results: int(results[per_minute]),
        lambda results: int(results[per_minute + 1]),
        lambda results: int(results[per_minute + 2]),
    )
