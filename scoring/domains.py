"""Host and registrable-domain helpers: turn whatever a message calls a link into comparable parts.

Everything here is pure and offline. The public suffix list is tldextract's bundled snapshot (never
fetched: `suffix_list_urls=()`), loaded on first use rather than at import, and PSL *private* suffixes
(`web.app`, `github.io`, `wixsite.com`...) count as suffixes, so `evil.web.app` and `other.web.app` are
two registrable domains, as they are two owners.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import tldextract

# DNS caps a name at 253 characters; anything longer is not a real host. We keep the tail, where the
# registrable domain is, so that a padded host cannot hide it and analysis stays bounded.
MAX_HOST_CHARS = 253
# A URL longer than this is truncated before parsing: only the host and a short path matter here.
MAX_URL_CHARS = 4096

# Defanged and OCR-ish separators seen in reports and pasted messages: "leboncoin[.]fr", "paypal(.)com",
# ideographic/fullwidth full stops (IDNA treats them as dots), "hxxps://".
_DEFANG = (
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("\u3002", "."),
    ("\uff0e", "."),
    ("\uff61", "."),
    ("[:]", ":"),
)
_HXXP = re.compile(r"^h(?:xx|\*\*|tt)p(s?)(?=[:\[])", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,15}://", re.IGNORECASE)
_PORT = re.compile(r":(\d{1,5})$")


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    """A URL split into the parts the domain analyzer looks at.

    `host` is lowercased, without port, userinfo or trailing dot, and with xn-- labels left as sent;
    `unicode_host` has every xn-- label decoded (equal to `host` when there is none).
    """

    host: str
    unicode_host: str
    userinfo: str
    port: int | None
    path: str  # path + query + fragment, as sent
    has_scheme: bool


def defang(text: str) -> str:
    """Undo common defanging/OCR separators so `leboncoin[.]fr` and `hxxps://` parse as links."""
    for old, new in _DEFANG:
        if old in text:
            text = text.replace(old, new)
    return _HXXP.sub(r"http\1", text)


def parse_url(url: str) -> ParsedUrl:
    """Split a URL (with or without scheme, possibly defanged) into host, userinfo, port and path.

    Never raises: an empty or unparsable input yields an empty `host`. The userinfo trick
    (`https://leboncoin.fr@evil.com`) puts `leboncoin.fr` in `userinfo` and `evil.com` in `host`.
    """
    text = defang(url.strip()[:MAX_URL_CHARS]).replace("\\", "/")
    match = _SCHEME.match(text)
    has_scheme = match is not None
    rest = text[match.end() :] if match else text.removeprefix("//")
    cut = len(rest)
    for sep in "/?#":
        pos = rest.find(sep)
        if pos != -1 and pos < cut:
            cut = pos
    authority, path = rest[:cut], rest[cut:]
    userinfo = ""
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
    port: int | None = None
    if authority.startswith("["):  # IPv6 literal, maybe with a port after the bracket
        end = authority.find("]")
        host_part, tail = (authority[: end + 1], authority[end + 1 :]) if end != -1 else (authority, "")
        port_match = _PORT.match(tail)
        port = int(port_match.group(1)) if port_match else None
    else:
        port_match = _PORT.search(authority)
        host_part = authority[: port_match.start()] if port_match else authority
        port = int(port_match.group(1)) if port_match else None
    host = normalize_host(host_part)
    return ParsedUrl(
        host=host,
        unicode_host=decode_idna(host),
        userinfo=userinfo,
        port=port,
        path=path[:512],
        has_scheme=has_scheme,
    )


def normalize_host(host: str) -> str:
    """Lowercase (NFKC + casefold), strip junk and trailing dots, keep at most the last 253 characters."""
    host = unicodedata.normalize("NFKC", host).casefold().strip().strip("'\"<>()[]{},;!")
    if host.startswith("[") or host.endswith("]"):
        return host.strip("[]")
    host = host.rstrip(".").lstrip(".")
    if len(host) > MAX_HOST_CHARS:
        host = host[-MAX_HOST_CHARS:]
        dot = host.find(".")
        host = host[dot + 1 :] if dot != -1 else host
    return host


def decode_idna(host: str) -> str:
    """Decode each `xn--` label to Unicode; a label that does not decode is kept as sent."""
    if "xn--" not in host:
        return host
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError, ValueError):
                label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)


@lru_cache(maxsize=65536)
def is_ip_literal(host: str) -> bool:
    """True for IPv4/IPv6 literals, including the integer/hex forms browsers still resolve (`0x7f.1`)."""
    candidate = host.strip("[]")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        pass
    else:
        return True
    # Browsers also resolve hex/octal/integer forms ("0x7f.1", "3232235777"); a bare short number is
    # more likely a typo than an address, so it needs four dotted parts or a 32-bit-sized integer.
    parts = candidate.split(".")
    if not all(re.fullmatch(r"0x[0-9a-f]+|\d+", p) for p in parts):
        return False
    return (
        len(parts) == 4 or (len(parts) == 1 and len(candidate) >= 8) or any(p.startswith("0x") for p in parts)
    )


@dataclass(frozen=True, slots=True)
class HostParts:
    """A host split along the public suffix list."""

    subdomain: str  # "www.img" in www.img.leboncoin.fr
    label: str  # "leboncoin": the label just left of the public suffix
    suffix: str  # "fr", "co.uk", or a private suffix such as "web.app"
    registrable: str  # "leboncoin.fr"; the host itself when there is no known suffix
    is_private_suffix: bool


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # suffix_list_urls=() and cache_dir=None: bundled snapshot only, no network, no disk cache.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@lru_cache(maxsize=65536)
def split_host(host: str) -> HostParts:
    """Split a normalized host (see `normalize_host`) along the bundled public suffix list."""
    if not host or is_ip_literal(host):
        return HostParts("", host, "", host, False)
    result = _extractor()(host)
    registrable = result.top_domain_under_public_suffix or host
    return HostParts(result.subdomain, result.domain, result.suffix, registrable, result.is_private)


def registrable_domain(host: str) -> str:
    """The domain someone registered for `host` (`img.leboncoin.fr` → `leboncoin.fr`).

    Accepts raw hosts (ports, userinfo, uppercase, trailing dot, defanged dots); IP literals and hosts
    without a known suffix come back normalized but otherwise whole.
    """
    return split_host(parse_url(host).host).registrable


def is_under(host: str, domain: str) -> bool:
    """True when `host` is `domain` or one of its subdomains (label-aligned, no `evilleboncoin.fr`)."""
    return host == domain or host.endswith("." + domain)
