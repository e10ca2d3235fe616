"""Moderator accounts: creation (with an API key), scrypt password hashes, authentication.

Passwords are hashed with `hashlib.scrypt` (memory-hard, in the standard library, so the domain
layer needs no web framework). The stored form names its parameters —
``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`` — so they can be raised later without breaking
existing hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moderation import audit
from moderation.clock import utcnow
from moderation.errors import ModerationError
from moderation.keys import create_key
from moderation.models import ApiKey
from moderation.review_models import Moderator

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_CHARS = 10
# Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = "scrypt$16384$8$1$00$00"


class InvalidModerator(ModerationError):
    """The account cannot be created as asked (`field` names the problem: email, password...)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password` in the self-describing stored form."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(stored: str, password: str) -> bool:
    """True when `password` matches `stored` (constant-time comparison; False on a malformed hash)."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


def normalize_email(email: str) -> str:
    """E-mails are compared case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def create_moderator(
    session: Session,
    email: str,
    name: str,
    password: str,
    *,
    senior: bool = False,
    actor: str = audit.SYSTEM_ACTOR,
) -> tuple[Moderator, str]:
    """Create a moderator and an API key (scope `moderate`) bound to it; return both, the key in
    plaintext (it is never retrievable again). Raises InvalidModerator (e-mail taken or malformed,
    password shorter than MIN_PASSWORD_CHARS). Does not commit."""
    email = normalize_email(email)
    if "@" not in email or len(email) > 320:
        raise InvalidModerator("email", "not an e-mail address")
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidModerator("password", f"passwords have at least {MIN_PASSWORD_CHARS} characters")
    if session.scalar(select(func.count()).where(Moderator.email == email)):
        raise InvalidModerator("email", "a moderator with this e-mail already exists")
    moderator = Moderator(
        id=uuid.uuid4().hex,
        email=email,
        name=name.strip()[:200] or email,
        password_hash=hash_password(password),
        is_senior=senior,
        created_at=utcnow(),
    )
    session.add(moderator)
    session.flush()
    key_row, plaintext = create_key(session, f"moderator:{moderator.id}", {"moderate"}, actor=actor)
    key_row.moderator_id = moderator.id
    audit.record(
        session,
        actor,
        "moderator.created",
        "moderator",
        moderator.id,
        {"senior": senior, "key": key_row.prefix},
    )
    return moderator, plaintext


def set_password(session: Session, moderator: Moderator, password: str, actor: str) -> None:
    """Replace the moderator's password. Raises InvalidModerator when too short. Does not commit."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidModerator("password", f"passwords have at least {MIN_PASSWORD_CHARS} characters")
    moderator.password_hash = hash_password(password)
    audit.record(session, actor, "moderator.password_changed", "moderator", moderator.id, {})


def authenticate(session: Session, email: str, password: str) -> Moderator | None:
    """The active moderator with these credentials, or None. Takes as long for an unknown e-mail."""
    moderator = session.scalar(select(Moderator).where(Moderator.email == normalize_email(email)))
    if moderator is None or moderator.disabled_at is not None:
        verify_password(_DUMMY_HASH, password)
        return None
    return moderator if verify_password(moderator.password_hash, password) else None


def get_moderator(session: Session, moderator_id: str) -> Moderator | None:
    """The active moderator with this id, or None."""
    moderator = session.get(Moderator, moderator_id)
    return moderator if moderator is not None and moderator.disabled_at is None else None


def moderator_for_key(session: Session, key_id: int) -> Moderator | None:
    """The active moderator an API key belongs to (None for a platform service's key)."""
    key = session.get(ApiKey, key_id)
    if key is None or key.moderator_id is None:
        return None
    return get_moderator(session, key.moderator_id)


def list_moderators(session: Session) -> list[Moderator]:
    """Every moderator, by name."""
    return list(session.scalars(select(Moderator).order_by(Moderator.name)))
