"""The in-process API-key cache: hits skip the database, revocation takes effect within the TTL."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import event

from moderation.keys import Principal, PrincipalCache, authenticate_cached, hash_key, revoke_key
from tests.api.conftest import bearer

MISSING = "/v1/messages/0123456789abcdef0123456789abcdef"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def count_key_lookups(app: Flask) -> Callable[[], int]:
    """How many API-key lookups (SELECT … FROM api_keys) the app's engine ran since this call."""
    seen: list[str] = []
    event.listen(app.extensions["vigie"].engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return lambda: sum("FROM api_keys" in statement for statement in seen)


def test_a_cached_key_skips_the_database_and_a_revocation_applies_after_the_ttl(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(auth_cache_ttl_s=30.0)
    clock = FakeClock()
    app.extensions["vigie"].principals = PrincipalCache(30.0, clock=clock)
    with app.extensions["vigie"].session_factory() as session:
        from moderation.keys import create_key

        _, key = create_key(session, "cached", {"read"})
        session.commit()
    client = app.test_client()
    key_lookups = count_key_lookups(app)

    assert client.get(MISSING, headers=bearer(key)).status_code == 404
    assert client.get(MISSING, headers=bearer(key)).status_code == 404
    assert key_lookups() == 1  # the second request was answered from the cache

    with app.extensions["vigie"].session_factory() as session:
        revoke_key(session, key.split("_", 2)[1])
        session.commit()
    clock.now += 29.0
    assert client.get(MISSING, headers=bearer(key)).status_code == 404  # within the TTL: still cached
    clock.now += 1.0
    refused = client.get(MISSING, headers=bearer(key))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_only_valid_keys_are_cached_and_a_forged_secret_is_refused(make_app: Callable[..., Flask]) -> None:
    app = make_app(auth_cache_ttl_s=30.0)
    with app.extensions["vigie"].session_factory() as session:
        from moderation.keys import create_key

        _, key = create_key(session, "cached", {"read"})
        session.commit()
    client = app.test_client()
    assert client.get(MISSING, headers=bearer(key)).status_code == 404
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    key_lookups = count_key_lookups(app)
    for _ in range(3):
        assert client.get(MISSING, headers=bearer(forged)).status_code == 401
    assert key_lookups() == 3  # a failure is never remembered: each one goes to the database


def test_cache_is_keyed_by_digest_expires_and_is_bounded() -> None:
    clock = FakeClock()
    cache = PrincipalCache(10.0, max_entries=2, clock=clock)
    alice = Principal(key_id=1, name="alice", scopes=frozenset({"read"}))
    cache.put(hash_key("vg_aaaaaaaa_x"), alice)
    assert cache.get(hash_key("vg_aaaaaaaa_x")) == alice
    assert cache.get("vg_aaaaaaaa_x") is None  # the plaintext is never a key of the cache
    clock.now += 10.0
    assert cache.get(hash_key("vg_aaaaaaaa_x")) is None
    for i in range(3):
        cache.put(hash_key(f"vg_{i}"), alice)
    assert sum(cache.get(hash_key(f"vg_{i}")) is not None for i in range(3)) <= 2
    disabled = PrincipalCache(0.0, clock=clock)
    disabled.put(hash_key("vg_aaaaaaaa_x"), alice)
    assert disabled.get(hash_key("vg_aaaaaaaa_x")) is None


def test_malformed_keys_never_reach_the_database() -> None:
    def no_session() -> None:
        raise AssertionError("the database was consulted")

    cache = PrincipalCache(30.0)
    assert authenticate_cached(cache, no_session, "not-a-key") is None  # type: ignore[arg-type]
    assert authenticate_cached(cache, no_session, "vg_short_x") is None  # type: ignore[arg-type]
