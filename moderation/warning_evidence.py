"""Which evidence a safety warning names, picked from the assessment's reasons (pure functions).

A warning is only useful if it is specific ("the link to leboncoin.fr.reception-fonds.com …"), but
evidence is attacker-controlled text. So: link categories name the host only (parsed, then
sanitised); channels and payment methods are mapped to a FIXED vocabulary key, never copied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from moderation.wording import sanitize_value

LINK_CATEGORIES = frozenset(
    {"fake_secure_payment", "fake_delivery", "spoofed_domain", "phishing_link", "url_shortener"}
)

# Ordered: the first match wins, so specific methods come before generic ones.
_CHANNELS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("whatsapp", re.compile(r"whats\s*app|wh?atsap|wa\.me|watsap", re.I)),
    ("telegram", re.compile(r"telegram|t\.me/|tg\b", re.I)),
    ("signal", re.compile(r"\bsignal\b", re.I)),
    ("email", re.compile(r"e-?mail|courriel|\bmail\b|gmail|hotmail|outlook|@[a-z0-9-]+\.", re.I)),
    ("sms", re.compile(r"\bsms\b|t[ée]l[ée]phone|phone|appel|\d{2}[ .]?\d{2}[ .]?\d{2}", re.I)),
)
_METHODS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("paypal_friends", re.compile(r"paypal.{0,30}(ami|proche|famil|friend)|paypal_friends", re.I)),
    ("western_union", re.compile(r"western|moneygram|mandat", re.I)),
    ("transcash", re.compile(r"transcash|\bpcs\b|neosurf|coupon|recharge", re.I)),
    ("crypto", re.compile(r"crypto|bitcoin|\bbtc\b|usdt|ethereum|\beth\b", re.I)),
    ("bank_transfer", re.compile(r"virement|\biban\b|\brib\b|transfer|wire", re.I)),
    ("paypal", re.compile(r"paypal", re.I)),
)


def host_of(reason: Mapping[str, Any]) -> str | None:
    """The host a link reason points at: its `detail.host`/`detail.domain`, else parsed from evidence."""
    detail = reason.get("detail") or {}
    for key in ("host", "domain"):
        value = detail.get(key) if isinstance(detail, Mapping) else None
        if isinstance(value, str) and value:
            return value.lower()
    evidence = str(reason.get("evidence") or "").strip()
    if not evidence or " " in evidence:
        return None
    candidate = evidence if "://" in evidence else f"http://{evidence}"
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    return host if host and "." in host else None


def _vocabulary_key(table: tuple[tuple[str, re.Pattern[str]], ...], texts: Iterable[str]) -> str | None:
    joined = " ".join(texts)
    for key, pattern in table:
        if pattern.search(joined):
            return key
    return None


def evidence_for(category: str, reasons: list[Mapping[str, Any]]) -> dict[str, str]:
    """Sanitised template values for one category, from that category's reasons (strongest first).

    Keys: `domain` (link categories), `channel` (off_platform), `method` (external_payment); the
    latter two are vocabulary keys translated by the catalogue. Missing evidence means no key, and
    the catalogue's generic wording is used.
    """
    ordered = sorted(reasons, key=lambda r: float(r.get("weight") or 0.0), reverse=True)
    out: dict[str, str] = {}
    if category in LINK_CATEGORIES:
        for reason in ordered:
            host = host_of(reason)
            if host:
                out["domain"] = sanitize_value(host)
                break
    texts = [f"{r.get('code', '')} {r.get('evidence', '')}" for r in ordered]
    if category == "off_platform":
        channel = _vocabulary_key(_CHANNELS, texts)
        if channel:
            out["channel"] = channel
    elif category == "external_payment":
        method = _vocabulary_key(_METHODS, texts)
        if method:
            out["method"] = method
    return out
