"""The Redis structures behind the signals, on a real Redis: bounded, idempotent, tolerant."""

from __future__ import annotations

from typing import Any

from scoring.minhash import band_keys, template_signature
from workers.entity_index import RedisBatch, Touch
from workers.templates import TemplateMessage, TemplateStore, _band, _sig

TEXT = (
    "Bonjour, votre annonce m'intéresse beaucoup, je suis à l'étranger pour le travail mais mon "
    "transporteur peut passer récupérer l'article demain matin."
)


def run(redis: Any, touches: list[Touch], now: float) -> list[int]:
    batch = RedisBatch()
    batch.touches(touches)
    return [int(c) for c in batch.run(redis, now)]


def test_touches_trim_by_time_and_cap_and_are_idempotent(redis_client: Any) -> None:
    for i in range(10):
        run(redis_client, [Touch("vigie:sig:test", f"m{i}", window_s=100, cap=5)], now=1000 + i)
    assert redis_client.zcard("vigie:sig:test") == 5  # capped to the newest 5
    # Re-touching an existing member (a retried job) does not count it twice.
    assert run(redis_client, [Touch("vigie:sig:test", "m9", window_s=100, cap=5)], now=1010) == [5]
    # Members older than the window are dropped on the next write.
    assert run(redis_client, [Touch("vigie:sig:test", "late", window_s=100, cap=5)], now=1200) == [1]
    assert 0 < redis_client.ttl("vigie:sig:test") <= 100
    # Count-only touches (member None) and a shorter counting span.
    counts = run(
        redis_client,
        [Touch("vigie:sig:test", None, window_s=100), Touch("vigie:sig:test", None, 100, count_since_s=0.5)],
        now=1200,
    )
    assert counts == [1, 1]


def test_template_store_tolerates_a_corrupt_signature(redis_client: Any) -> None:
    signature = template_signature(TEXT)
    assert signature is not None
    store = TemplateStore(redis_client, window_s=3600, min_similarity=0.7)
    # A band key pointing at a template whose stored signature is garbage (or gone).
    redis_client.set(_band(band_keys(signature)[0]), "broken")
    redis_client.set(_sig("broken"), b"not a signature")
    [match] = store.match([TemplateMessage("s1", signature, "r1", "u1")])
    assert match.is_new and match.template_id == "s1"


def test_messages_of_one_batch_share_a_new_template(redis_client: Any) -> None:
    a = template_signature(TEXT)
    b = template_signature(TEXT.replace("demain matin", "ce soir"))
    assert a is not None and b is not None
    store = TemplateStore(redis_client, window_s=3600, min_similarity=0.7)
    first, second = store.match([TemplateMessage("s1", a, "r1", "u1"), TemplateMessage("s2", b, "r2", "u1")])
    assert first.is_new and not second.is_new
    assert second.template_id == first.template_id
