"""Bearer-key authentication and scope checks, declared per view and enforced centrally.

Every view declares its access policy with `@requires(...)`, `@public(reason)` or
`@admin_or_loopback`. A single `before_request` hook enforces it, so an endpoint that
forgets to declare anything is NOT open: it falls back to requiring the `admin` scope.
Keys are looked up by their public prefix and compared by hash in constant time
(moderation.keys.authenticate), then remembered per process for VIGIE_AUTH_CACHE_TTL_S seconds
(moderation.keys.PrincipalCache: a revocation takes effect within that delay); the presented key
is never logged or echoed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from api.problems import Problem
from api.services import services

ACCESS_ATTR = "_vigie_access"
# Longer than any real key ("vg_" + 8 + "_" + 43 = 55 chars): refuse before touching the database.
MAX_PRESENTED_KEY_CHARS = 200

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AccessPolicy:
    """Who may call a view: `public`, or a key holding ALL of `scopes` (or loopback when allowed)."""

    scopes: frozenset[str] = frozenset()
    public: bool = False
    loopback_ok: bool = False
    reason: str = ""


FAIL_CLOSED = AccessPolicy(scopes=frozenset({"admin"}), reason="no policy declared: admin only")


def requires(*scopes: str) -> Callable[[F], F]:
    """Declare that the view needs a valid key holding every scope in `scopes`."""

    def mark(view: F) -> F:
        setattr(view, ACCESS_ATTR, AccessPolicy(scopes=frozenset(scopes)))
        return view

    return mark


def public(reason: str) -> Callable[[F], F]:
    """Declare a view reachable without a key; `reason` documents why (it shows in the OpenAPI doc)."""

    def mark(view: F) -> F:
        setattr(view, ACCESS_ATTR, AccessPolicy(public=True, reason=reason))
        return view

    return mark


def admin_or_loopback(view: F) -> F:
    """Declare a view open to a key with scope `admin`, or to a direct loopback client (a local scraper)."""
    setattr(view, ACCESS_ATTR, AccessPolicy(scopes=frozenset({"admin"}), loopback_ok=True))
    return view


def policy_for(app: Flask, endpoint: str) -> AccessPolicy:
    """The policy enforced for `endpoint` (FAIL_CLOSED when the view declared none)."""
    view = app.view_functions[endpoint]
    policy = getattr(view, ACCESS_ATTR, None)
    return policy if isinstance(policy, AccessPolicy) else FAIL_CLOSED


def _is_direct_loopback() -> bool:
    # A request relayed by a reverse proxy carries X-Forwarded-For even when the proxy
    # itself connects from 127.0.0.1: such requests are not trusted as local.
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _challenge(error: str | None) -> dict[str, str]:
    value = 'Bearer realm="vigie"'
    if error:
        value += f', error="{error}"'
    return {"WWW-Authenticate": value}


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _authorize() -> None:
    if request.url_rule is None or request.endpoint is None:
        return  # routing failed: the 404/405 handler answers
    policy = policy_for(current_app, request.endpoint)
    if policy.public or (policy.loopback_ok and _is_direct_loopback()):
        return
    token = _presented_key()
    if token is None:
        raise Problem(
            401, "unauthorized", "Send an API key as 'Authorization: Bearer <key>'.", headers=_challenge(None)
        )
    principal = None
    if len(token) <= MAX_PRESENTED_KEY_CHARS:
        from moderation.keys import authenticate_cached

        svc = services()
        # Cached in-process for VIGIE_AUTH_CACHE_TTL_S: a hit costs no database round trip.
        principal = authenticate_cached(svc.principals, svc.session, token)
        # On a miss, authenticate stamps last_used_at at most once a minute: commit only then
        # (saves a COMMIT round trip on almost every request).
        session: Session | None = g.get("db_session")
        if session is not None and session.dirty:
            session.commit()
    if principal is None:
        raise Problem(
            401,
            "unauthorized",
            "The API key is invalid or has been revoked.",
            headers=_challenge("invalid_token"),
        )
    # Principal.has: "admin" implies every other scope.
    missing = {scope for scope in policy.scopes if not principal.has(scope)}
    if missing:
        raise Problem(
            403,
            "forbidden",
            f"This key lacks the scope(s): {', '.join(sorted(missing))}.",
            headers=_challenge("insufficient_scope"),
        )
    g.principal = principal
    services().rate_limiter.enforce(str(principal.key_id))


def actor() -> str:
    """The audit actor of the current request: "key:<name>" for a key, "anonymous" otherwise."""
    principal = g.get("principal")
    return f"key:{principal.name}" if principal is not None else "anonymous"


def init_app(app: Flask) -> None:
    """Enforce every view's access policy before it runs."""
    app.before_request(_authorize)
