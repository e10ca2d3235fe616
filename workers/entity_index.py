"""Redis-backed, time-bounded counters of the signals: which accounts used an entity, how fast a
sender writes, to how many conversations, how far a template reached.

Every structure is a sorted set scored by time. A `Touch` adds a member at `now` (idempotent:
re-scoring a message after a retry adds nothing), trims members older than its window and beyond its
cap, refreshes the key's expiry to one window, and counts the members seen since `count_since_s`.
Memory is therefore bounded by one window of traffic, whatever happens. Entity values and sender ids
are hashed before they become key names or members, so phone numbers and e-mail addresses never
appear in Redis in clear.

All the operations of a BATCH (every message's touches, the template writes and reads, in message
order) run as ONE server-side Lua call (`BATCH_SCRIPT`, see `RedisBatch`): redis-py spends more CPU
packing commands and parsing replies than Redis spends running them, so a batch of 50 messages sends
one command whose per-operation parameters travel as one JSON argument, and gets one JSON reply back,
instead of ~50 script calls of ~35 arguments each. The script is sent with EVAL rather than EVALSHA:
redis-py checks registered scripts with an extra SCRIPT EXISTS round trip on every pipeline, which
costs more than the script text once per batch.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis

PREFIX = "vigie:sig"
# A set never holds more members than this (a scripted sender cannot grow one without bound).
MAX_MEMBERS = 5000
MINUTE_S = 60.0
HOUR_S = 3600.0

# KEYS: one key per operation. ARGV[1]: now; ARGV[2]: JSON list of operations, one per key:
#   [0, member, window_s, cap, since_s]  touch (member "" = count only), then count members scored in
#                                        [now - since_s, +inf): see `Touch`;
#   [1, n]                               the n newest members (ZREVRANGE 0 n-1);
#   [2, ttl_s, argv_index, nx]           SET key ARGV[argv_index] EX ttl_s (NX when nx == 1);
#   [3, ttl_s]                           EXPIRE key ttl_s.
# Operations run in order, so a message's counts include the earlier messages of its batch, exactly as
# one call per message would. Returns the JSON list of results (count, member list, or 0).
# A key touched again in the same call with the same window and cap is not trimmed or expired again:
# its members were all scored `now` since its trim (nothing new to drop by time), its expiry is the
# same instant (time stands still inside a script), and its size only needs the cap again if the
# member is new. Redis spends most of a batch's signal time on these calls.
BATCH_SCRIPT = """
local now = tonumber(ARGV[1])
local ops = cjson.decode(ARGV[2])
local out = {}
local trimmed = {}
for i, key in ipairs(KEYS) do
  local op = ops[i]
  local code = op[1]
  if code == 0 then
    local member = op[2]
    local window = op[3]
    if member ~= "" then
      local added = redis.call("ZADD", key, now, member)
      local shape = window .. ":" .. op[4]
      if trimmed[key] ~= shape then
        redis.call("ZREMRANGEBYSCORE", key, "-inf", now - window)
        redis.call("ZREMRANGEBYRANK", key, 0, -(op[4] + 1))
        redis.call("EXPIRE", key, math.max(1, math.floor(window)))
        trimmed[key] = shape
      elseif added == 1 then
        redis.call("ZREMRANGEBYRANK", key, 0, -(op[4] + 1))
      end
    end
    out[i] = redis.call("ZCOUNT", key, now - op[5], "+inf")
  elseif code == 1 then
    out[i] = redis.call("ZREVRANGE", key, 0, op[2] - 1)
  elseif code == 2 then
    if op[4] == 1 then
      redis.call("SET", key, ARGV[op[3]], "EX", op[2], "NX")
    else
      redis.call("SET", key, ARGV[op[3]], "EX", op[2])
    end
    out[i] = 0
  else
    redis.call("EXPIRE", key, op[2])
    out[i] = 0
  end
end
return cjson.encode(out)
"""


@functools.lru_cache(maxsize=65536)
def digest(value: str) -> str:
    """Short stable hash used in key names and members (16 hex characters of BLAKE2b). Memoised: a
    message hashes its sender's id four or five times, and senders and entities recur."""
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


class RedisBatch:
    """The Redis operations of one batch, queued in order and run as one `BATCH_SCRIPT` call.

    Each `touch`/`latest`/`set`/`expire` returns the index of its result in `run`'s list.
    """

    def __init__(self) -> None:
        self._keys: list[str] = []
        self._ops: list[list[str | float | int]] = []
        self._values: list[bytes | str] = []

    def __len__(self) -> int:
        return len(self._keys)

    def touches(self, touches: Sequence[Touch]) -> int:
        """Queue `touches`; returns the index of the first one's count (the others follow it)."""
        first = len(self._keys)
        for t in touches:
            since = t.count_since_s if t.count_since_s is not None else t.window_s
            self._keys.append(t.key)
            self._ops.append([0, t.member or "", t.window_s, t.cap, since])
        return first

    def latest(self, key: str, n: int) -> int:
        """Queue a read of the `n` newest members of `key` (a list of member strings)."""
        self._keys.append(key)
        self._ops.append([1, n])
        return len(self._keys) - 1

    def set(self, key: str, value: bytes | str, ttl_s: int, nx: bool = False) -> int:
        """Queue SET key value EX ttl_s [NX]."""
        self._values.append(value)
        self._keys.append(key)
        self._ops.append([2, ttl_s, len(self._values) + 2, int(nx)])  # ARGV index (1-based, after now/ops)
        return len(self._keys) - 1

    def expire(self, key: str, ttl_s: int) -> int:
        """Queue EXPIRE key ttl_s."""
        self._keys.append(key)
        self._ops.append([3, ttl_s])
        return len(self._keys) - 1

    def run(self, redis: Redis, now: float) -> list[Any]:
        """Run every queued operation in one script call; one result per operation, in order."""
        if not self._keys:
            return []
        ops = json.dumps(self._ops, separators=(",", ":"))
        raw = redis.eval(BATCH_SCRIPT, len(self._keys), *self._keys, now, ops, *self._values)
        # cjson writes an empty table (no newest members) as {}.
        return [[] if result == {} else result for result in json.loads(raw)]


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
