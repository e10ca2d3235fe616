"""API keys for platform services: creation, authentication, revocation.

Format: ``vg_<prefix>_<secret>`` — an 8-character public prefix used to find the row, and 32
random bytes (43 url-safe characters). Only the SHA-256 of the whole key is stored: with 256 bits
of entropy a slow password hash would add latency and no security.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation import audit
from moderation.clock import utcnow
from moderation.errors import InvalidScopes, NotFound
from moderation.models import ApiKey

SCOPES = frozenset({"submit", "read", "moderate", "admin"})
KEY_PREFIX = "vg"
_HEX_DIGITS = "0123456789abcdef"
# Updating last_used_at on every request would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the authenticated key's id, name and scopes."""

    key_id: int
    name: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        """True when the key holds `scope` (or `admin`, which implies every scope)."""
        return scope in self.scopes or "admin" in self.scopes


def hash_key(key: str) -> str:
    """SHA-256 hex digest of the full presented key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    session: Session, name: str, scopes: set[str] | frozenset[str], actor: str = audit.SYSTEM_ACTOR
) -> tuple[ApiKey, str]:
    """Create a key; return the row and the plaintext key, which is never retrievable again.

    Raises InvalidScopes for scopes outside SCOPES. Does not commit.
    """
    unknown = frozenset(scopes) - SCOPES
    if unknown or not scopes:
        raise InvalidScopes(unknown)
    prefix = secrets.token_hex(4)  # hex: never contains the "_" separator
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=hash_key(plaintext),
        scopes=",".join(sorted(scopes)),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "api_key.created", "api_key", prefix, {"name": name, "scopes": sorted(scopes)}
    )
    return row, plaintext


def _parse(presented: str) -> str | None:
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8 or not parts[2]:
        return None
    # Prefixes are hex (create_key); anything else (a NUL, which PostgreSQL refuses) never reaches SQL.
    if parts[1].strip(_HEX_DIGITS):
        return None
    return parts[1]


def authenticate(session: Session, presented: str) -> Principal | None:
    """Return the Principal for a valid, unrevoked key, or None.

    The hash comparison is constant-time. May update `last_used_at` (at most once a minute per
    key); the caller commits.
    """
    prefix = _parse(presented)
    if prefix is None:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, hash_key(presented)):
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
    return Principal(key_id=row.id, name=row.name, scopes=frozenset(s for s in row.scopes.split(",") if s))


class PrincipalCache:
    """Authenticated keys remembered in-process for `ttl_s` seconds, by the SHA-256 of the presented key.

    Checking a key costs a database round trip per request; a platform service sends thousands of
    requests a minute with the same key. The price is staleness: a key revoked (or re-scoped) in
    the database keeps working in a process that cached it until its entry expires, at most
    `ttl_s` later. Only successes are cached (an invalid key always reaches the database, where
    the comparison is constant-time). Entries are keyed by the digest, never by the key itself, so
    the dict lookup's timing says nothing usable about a secret. Thread-safe; bounded in size.
    """

    def __init__(
        self, ttl_s: float, *, max_entries: int = 4096, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        """The cached principal for a presented key's digest, or None (absent or expired)."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        expires_at, principal = entry
        if self._clock() >= expires_at:
            with self._lock:
                self._entries.pop(digest, None)
            return None
        return principal

    def put(self, digest: str, principal: Principal) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # many distinct valid keys is unusual: start over rather than track age
            self._entries[digest] = (self._clock() + self.ttl_s, principal)


def authenticate_cached(
    cache: PrincipalCache, session_provider: Callable[[], Session], presented: str
) -> Principal | None:
    """`authenticate`, answered from `cache` while the key's entry is fresh.

    `session_provider` is called only on a miss (a hit touches no database). On a miss the caller
    commits when the session is dirty (`last_used_at` was stamped).
    """
    if _parse(presented) is None:
        return None
    digest = hash_key(presented)
    principal = cache.get(digest)
    if principal is not None:
        return principal
    principal = authenticate(session_provider(), presented)
    if principal is not None:
        cache.put(digest, principal)
    return principal


def revoke_key(session: Session, key_id_or_prefix: int | str, actor: str = audit.SYSTEM_ACTOR) -> ApiKey:
    """Revoke a key by numeric id or by prefix; idempotent. Raises NotFound. Does not commit."""
    if isinstance(key_id_or_prefix, int) or key_id_or_prefix.isdigit():
        row = session.get(ApiKey, int(key_id_or_prefix))
        if row is None and isinstance(key_id_or_prefix, str):
            row = session.scalar(select(ApiKey).where(ApiKey.prefix == key_id_or_prefix))
    else:
        row = session.scalar(select(ApiKey).where(ApiKey.prefix == key_id_or_prefix))
    if row is None:
        raise NotFound("api_key", str(key_id_or_prefix))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, "api_key.revoked", "api_key", row.prefix, {"name": row.name})
    return row


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, oldest first, revoked ones included (check `revoked_at`)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
