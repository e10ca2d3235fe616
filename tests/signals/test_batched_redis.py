"""A batch's Redis work runs as one script call (`RedisBatch`) with the same results as one message at
a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from moderation.settings import Settings
from moderation.submissions import get_revision, to_score_input
from scoring.types import ScoreContext, ScoreInput
from tests.signals.conftest import Clock
from workers.entity_index import RedisBatch, Touch
from workers.signals import Signals

OPENER = (
    "Bonjour {name}, votre {item} m'intéresse beaucoup, je peux venir le chercher ce week-end avec ma "
    "voiture. Le prix de {price} euros est-il ferme ? Merci de me répondre rapidement."
)
PAYMENT = "Réglez par paypal.me/vendeur{n} ou au 06 12 34 56 {n:02d}, IBAN FR76 3000 6000 0112 3456 7890 189."
HONEST = "Oui il est toujours disponible, vous pouvez passer samedi à Lyon, je suis là toute la journée."


def test_batch_runs_writes_counts_and_reads_in_order(redis_client: Any) -> None:
    batch = RedisBatch()
    first = batch.touches([Touch("vigie:sig:t:a", "m1", 100.0), Touch("vigie:sig:t:a", "m2", 100.0)])
    empty = batch.latest("vigie:sig:t:none", 5)
    latest = batch.latest("vigie:sig:t:a", 1)
    batch.set("vigie:sig:t:v", b"\x00\xffraw", 50)
    batch.set("vigie:sig:t:v", b"other", 50, nx=True)  # NX: the first value stays
    batch.expire("vigie:sig:t:a", 30)
    again = batch.touches([Touch("vigie:sig:t:a", None, 100.0)])
    results = batch.run(redis_client, now=1000.0)
    assert len(results) == len(batch) == 8
    # The second touch counts the first (order is kept inside the one call).
    assert results[first : first + 2] == [1, 2]
    assert results[empty] == []
    assert results[latest] == ["m2"]
    assert results[again] == 2
    assert redis_client.get("vigie:sig:t:v") == b"\x00\xffraw"  # binary values travel intact
    assert 0 < redis_client.ttl("vigie:sig:t:a") <= 30
    assert RedisBatch().run(redis_client, now=1000.0) == []


def test_repeated_keys_in_one_call_end_as_one_call_per_touch(redis_client: Any) -> None:
    """The script trims and expires a key once per call unless a touch adds to it: the sets, counts
    and expiries must be those of running every touch on its own."""
    touches = [
        Touch(f"vigie:sig:t:{key}", member, window, cap=cap)
        for key, member, window, cap in [
            ("a", "m1", 100.0, 3), ("a", "m1", 100.0, 3), ("a", "m2", 100.0, 3), ("b", "x", 50.0, 2),
            ("a", "m3", 100.0, 3), ("a", "m4", 100.0, 3), ("a", "m2", 100.0, 3), ("b", "y", 50.0, 2),
            ("b", "z", 50.0, 2), ("a", None, 100.0, 3), ("b", "x", 50.0, 2), ("a", "m5", 10.0, 2),
        ]
    ]  # fmt: skip

    def state() -> dict[str, Any]:
        return {
            key: (redis_client.zrange(key, 0, -1, withscores=True), redis_client.ttl(key))
            for key in ("vigie:sig:t:a", "vigie:sig:t:b")
        }

    # Old members, some older than the windows, so that trimming by time has work to do.
    redis_client.zadd("vigie:sig:t:a", {"old1": 900.0, "old2": 960.0})
    redis_client.zadd("vigie:sig:t:b", {"old3": 930.0})
    batch = RedisBatch()
    batch.touches(touches)
    together = batch.run(redis_client, now=1000.0)
    after_batch = state()
    redis_client.flushdb()
    redis_client.zadd("vigie:sig:t:a", {"old1": 900.0, "old2": 960.0})
    redis_client.zadd("vigie:sig:t:b", {"old3": 930.0})
    apart = []
    for touch in touches:
        single = RedisBatch()
        single.touches([touch])
        apart += single.run(redis_client, now=1000.0)
    assert together == apart
    assert after_batch == state()


def _traffic() -> list[tuple[str, str, str]]:
    """(text, sender, recipient): a campaign opener, payment handles shared across accounts, honest
    replies; every message in its own conversation so that batch order alone decides nothing."""
    rows = []
    for i in range(36):
        if i % 3 == 0:
            text = OPENER.format(name=["Marie", "Paul", "Léa"][i % 3], item="vélo", price=40 + i)
            rows.append((text, f"camp-{i % 2}", f"seller-{i}"))
        elif i % 3 == 1:
            rows.append((PAYMENT.format(n=i % 4), f"pay-{i % 5}", f"buyer-{i}"))
        else:
            rows.append((HONEST, f"user-{i}", f"buyer-{i}"))
    return rows


def _contexts(
    session_factory: sessionmaker[Session],
    signals: Signals,
    items: list[ScoreInput],
    batch_size: int,
) -> list[ScoreContext]:
    out: list[ScoreContext] = []
    for start in range(0, len(items), batch_size):
        out += signals.collect(session_factory, items[start : start + batch_size])
    return out


def test_batched_collect_equals_one_message_at_a_time(
    session_factory: sessionmaker[Session],
    signal_settings: Settings,
    redis_client: Any,
    clock: Clock,
    submit_message: Callable[..., tuple[str, int]],
) -> None:
    settings = dataclasses.replace(
        signal_settings,
        campaign_min_recipients=3,
        campaign_min_recipients_per_sender=1,
        shared_entity_min_accounts=2,
    )
    keys = [submit_message(text, sender=s, recipient=r, account_age_days=1) for text, s, r in _traffic()]
    with session_factory() as session:
        items = [to_score_input(get_revision(session, sid, rev)) for sid, rev in keys]  # type: ignore[arg-type]
    signals = Signals(settings, redis_client, clock=clock)
    one_by_one = _contexts(session_factory, signals, items, 1)
    redis_client.flushdb()
    batched = _contexts(session_factory, signals, items, 12)
    assert batched == one_by_one
    fired = {r.code for c in batched for r in c.reasons}
    # The comparison covered the campaign, shared-entity and sender paths.
    assert {"signal.campaign", "signal.shared_entity", "signal.sender_many_payees"} <= fired
