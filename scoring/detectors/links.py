"""Links and e-mail addresses judged by the domain analyzer and the URL model.

Each extracted URL goes to `DomainAnalyzer.assess_url` (look-alike brand domains, brand in a
subdomain, punycode, shorteners, IP hosts, free hosting, risky TLDs, and what the path shows: kit
pages, site internals, carried e-mails, hidden destinations -- `scoring.url_path`), each e-mail address to
`assess_email` (look-alike sender domains, free-mail addresses claiming a brand). Their signals
become reasons carrying the link's span in the ORIGINAL text. A link written with non-ASCII look-alike
letters ("lеboncoin.fr" with a Cyrillic е) is a spoof whatever the analyzer says: normalisation folded
it, so this detector checks the original characters. The URL model adds a phishing_link reason when its
probability is high and the link is not on an allowed domain.
"""

from __future__ import annotations

import re

from scoring.detectors.context import FieldContext
from scoring.extract import Entity
from scoring.types import Category, Reason

HOMOGLYPH_WEIGHT = 0.85


def _reason(
    ctx: FieldContext, ent: Entity, code: str, category: Category, weight: float, detail: dict
) -> Reason:
    start, end = ent.span
    return Reason(
        code=code,
        category=category,
        weight=max(0.0, min(1.0, weight)),
        evidence=ctx.original[start:end],
        span=(start, end),
        field=ctx.field,
        detail=detail,
    )


def _has_lookalike_letters(raw: str) -> bool:
    # Letters outside ASCII in a link's HOST are either an IDN (rare on a French marketplace) or a
    # homograph. Only the host: "google.com/maps/place/Résidence" has an accent in its path, which any
    # French page name has and which no reader takes for the site's name.
    host = re.sub(r"^[a-z][a-z0-9+.-]*:/*", "", raw, flags=re.IGNORECASE)
    host = re.split(r"[/?#\\]", host, maxsplit=1)[0].rsplit("@", 1)[-1]
    return any(not ch.isascii() and ch.isalpha() for ch in host)


def _url_signals(ctx: FieldContext, value: str, raw: str) -> list:
    """The analyzer's signals for a link, judged as normalised AND as written.

    Normalisation decodes leetspeak ("leb0ncoin.fr" -> "leboncoin.fr"), which turns a digit look-alike
    into the brand's real domain; the link as written (when it is one unbroken token) is what the
    browser would open, so its signals count too (the strongest per code wins). Normalisation also
    lowercases, and some path mechanisms read case (a base64-hidden e-mail, a short link's case-mixed
    token): a link that differs from its value only by case is judged as written too.
    """
    signals = list(ctx.links.assess_url(value))
    if raw != value and raw and not any(ch.isspace() for ch in raw):
        best = {sig.code: sig for sig in signals}
        for sig in ctx.links.assess_url(raw):
            if sig.code not in best or sig.weight > best[sig.code].weight:
                best[sig.code] = sig
        signals = list(best.values())
    return signals


def link_reasons(ctx: FieldContext) -> list[Reason]:
    """Reasons for the links and e-mail addresses of one field."""
    reasons: list[Reason] = []
    scale = ctx.pack.fusion.domain_signal_scale
    seen: set[tuple[str, str]] = set()
    for url in ctx.entities.urls:
        raw = ctx.original[url.span[0] : url.span[1]]
        signals = _url_signals(ctx, url.value, raw)
        for sig in signals:
            if (sig.code, url.value) in seen:
                continue
            seen.add((sig.code, url.value))
            reasons.append(_reason(ctx, url, sig.code, sig.category, sig.weight * scale, dict(sig.detail)))
        if _has_lookalike_letters(raw):
            reasons.append(
                _reason(
                    ctx,
                    url,
                    "domain.homoglyph_letters",
                    Category.SPOOFED_DOMAIN,
                    HOMOGLYPH_WEIGHT,
                    {"domain": url.value, "technique": "mixed-script letters"},
                )
            )
        p = ctx.url_probs.get(url.value)
        fusion = ctx.pack.fusion
        # A shortener's host is the shortener's, the same for every link it hides (the model put
        # cutt.ly at 0.92 and maps.app.goo.gl at 0.93, tinyurl.com at 0.05): the url.shortener signal
        # judges those links, a host model has nothing to say about them.
        shortened = any(sig.code == "url.shortener" for sig in signals)
        if (
            p is not None
            and p >= (fusion.url_model_min_p if fusion.url_model_min_p is not None else 1.0)
            and not shortened
            and not ctx.links.is_allowed(url.value)
        ):
            reasons.append(
                _reason(
                    ctx,
                    url,
                    "link.model_phishing",
                    Category.PHISHING_LINK,
                    fusion.url_model_weight * p,
                    {"probability": round(p, 4)},
                )
            )
    for email in ctx.entities.emails:
        for sig in ctx.links.assess_email(email.value):
            reasons.append(_reason(ctx, email, sig.code, sig.category, sig.weight * scale, dict(sig.detail)))
    return reasons
