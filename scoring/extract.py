"""Entity extraction: URLs, e-mails, phones, IBANs, crypto addresses, amounts, handles, SIRETs.

`extract(original, norm)` searches the NORMALISED text (so "jean arobase gmail point com",
"hxxp://x[.]com" and "zéro six douze..." are found) and reports every entity with its span in the
ORIGINAL text (`original[span[0]:span[1]]` is what the user received) and its span in `norm.text`
(what detectors use to measure distances to phrases). Validation is strict where a checksum exists
(IBAN mod-97, SIRET Luhn, bech32/base58check) so that random digit strings are not taken for them.
Every kind is capped at `MAX_PER_KIND` entities: a 100 KB message of digits stays cheap.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import phonenumbers

from scoring.normalize import Normalized

MAX_PER_KIND = 32


@dataclass(frozen=True, slots=True)
class Entity:
    """One extracted entity. `value` is canonical (lower-case URL, E.164 phone, upper-case IBAN...)."""

    kind: str  # url | email | phone | iban | crypto | amount | handle | siret | iban_like | crypto_like
    value: str
    span: tuple[int, int]  # into the original text
    norm_span: tuple[int, int]  # into Normalized.text
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Entities:
    urls: tuple[Entity, ...] = ()
    emails: tuple[Entity, ...] = ()
    phones: tuple[Entity, ...] = ()
    ibans: tuple[Entity, ...] = ()
    crypto: tuple[Entity, ...] = ()
    amounts: tuple[Entity, ...] = ()
    handles: tuple[Entity, ...] = ()
    sirets: tuple[Entity, ...] = ()
    # IBAN- and wallet-shaped strings whose checksum fails: typed by hand or invented, still a payment ask.
    iban_like: tuple[Entity, ...] = ()
    crypto_like: tuple[Entity, ...] = ()

    def all(self) -> tuple[Entity, ...]:
        return (
            self.urls + self.emails + self.phones + self.ibans + self.crypto
            + self.amounts + self.handles + self.sirets + self.iban_like + self.crypto_like
        )  # fmt: skip


# --- URLs and e-mails -------------------------------------------------------------------------------

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# Anchored at token starts (lookbehind) so a long run of letters is scanned once, not once per offset.
_URL = re.compile(
    r"(?<![\w@.-])(?:https?://[^\s<>\"'`]+"
    r"|www\.[^\s<>\"'`]+"
    rf"|(?:{_LABEL}\.)+[a-z]{{2,24}}(?![\w@-])(?:[/?#][^\s<>\"'`]*)?"
    # A raw IPv4 host written without a scheme counts as a link only with a path ("185.7.4.20/pay").
    r"|(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?::\d{2,5})?/[^\s<>\"'`]+)"
)
_EMAIL = re.compile(rf"(?<![\w.+-])[a-z0-9][a-z0-9._%+-]{{0,63}}@(?:{_LABEL}\.)+[a-z]{{2,24}}(?![\w-])")
# "jean.dupont@gmail" without its TLD: only for hosts everyone knows.
_EMAIL_BARE = re.compile(
    r"(?<![\w.+-])[a-z0-9][a-z0-9._%+-]{0,63}@(?:gmail|hotmail|yahoo|outlook|icloud|orange|free|laposte|live)\b(?![.@])"
)
_TRAILING = ".,;:!?)]}'\""


# Top-level domains accepted for scheme-less links ("reception-fonds.com/tx"); anything else with a
# scheme or "www." is accepted as written. A short list keeps "ok.merci" or "m.dupont" from being links.
_TLD_SET = frozenset(
    [
        "com",
        "fr",
        "net",
        "org",
        "info",
        "biz",
        "eu",
        "be",
        "ch",
        "de",
        "uk",
        "es",
        "it",
        "nl",
        "pt",
        "io",
        "co",
        "me",
        "app",
        "xyz",
        "top",
        "online",
        "site",
        "shop",
        "store",
        "live",
        "link",
        "click",
        "club",
        "vip",
        "icu",
        "buzz",
        "cfd",
        "sbs",
        "lol",
        "tk",
        "ml",
        "ga",
        "cf",
        "gq",
        "ru",
        "cn",
        "su",
        "pw",
        "ws",
        "cc",
        "tv",
        "ly",
        "gl",
        "gd",
        "to",
        "in",
        "us",
        "ca",
        "ma",
        "tn",
        "dz",
        "sn",
        "ci",
        "re",
        "pf",
        "nc",
        "mu",
        "lu",
        "at",
        "pl",
        "ro",
        "cz",
        "gr",
        "ie",
        "se",
        "no",
        "dk",
        "fi",
        "ovh",
        "page",
        "web",
        "dev",
        "cloud",
        "digital",
        "services",
        "support",
        "help",
        "delivery",
        "express",
        "email",
        "money",
        "pay",
        "finance",
        "bank",
        "secure",
        "win",
        "bid",
        "loan",
        "work",
        "tech",
        "space",
        "fun",
        "host",
        "press",
        "blog",
        "world",
        "today",
        "news",
        "one",
        "pro",
        "mobi",
        "name",
        "tel",
        "ai",
        "gg",
        "li",
        "sh",
        "im",
        "la",
        "ac",
        "ms",
    ]
)


_IPV4_HOST = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?$")


def _clean_url(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1] in _TRAILING:
        end -= 1
    return start, end


def _urls(norm: Normalized) -> Iterator[tuple[int, int, str]]:
    text = norm.text
    for m in _URL.finditer(text):
        s, e = _clean_url(text, m.start(), m.end())
        url = text[s:e]
        if not url.startswith(("http://", "https://", "www.")):
            host = url.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
            if _IPV4_HOST.match(host):
                if re.search(r"[a-z]", url[len(host) :]):  # "1.2.3.4/5" is a version, not a page
                    yield s, e, url
                continue
            tld = host.rsplit(".", 1)[-1]
            # Another short TLD counts when a path follows: shorteners live on them ("rb.gy/x", "is.gd/y").
            path = url[len(host) :]
            if tld not in _TLD_SET and not (len(tld) == 2 and len(path) >= 3 and path[0] == "/"):
                continue
            # A bare "1.5" or "v2.0" is not a link; a domain needs a letter in its registrable label.
            if not re.search(r"[a-z]", host.rsplit(".", 1)[0]):
                continue
        yield s, e, url


# --- phones -------------------------------------------------------------------------------------------

# A phone-shaped run: optional +/00 prefix, then 8-15 digits with at most two separator characters
# between them. Each step is one digit after a bounded separator, so matching stays linear.
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d(?:[ .\-/()]{0,2}\d){7,14}(?!\w)")


# National formats tried after FR, for numbers written without a country code.
_FALLBACK_REGIONS = ("BE", "CH", "GB")


@functools.lru_cache(maxsize=4096)
def _phone_e164(raw: str) -> str | None:
    """E.164 form of a phone-shaped string if it is a valid number (FR by default), else None."""
    digits = "".join(c for c in raw if c.isdigit())
    international = raw.startswith(("+", "00"))
    if international and digits.startswith("00"):
        digits = digits[2:]
    # Fast path for the overwhelmingly common French shapes; phonenumbers costs ~100 µs a call.
    if not international and len(digits) == 10 and digits[0] == "0" and digits[1] in "1234679":
        return "+33" + digits[1:]
    if len(digits) == 11 and digits.startswith("33") and digits[2] in "1234679":
        return "+" + digits
    regions: tuple[str | None, ...] = (None,) if international else ("FR",)
    if not international and digits.startswith("0"):
        # A national number that is not French: the neighbours and the UK write theirs with a leading 0
        # too ("reply via text: 07700 900812"). Tried only once FR has failed, in a fixed order.
        regions = ("FR", *_FALLBACK_REGIONS)
    for region in regions:
        try:
            number = phonenumbers.parse("+" + digits if international else raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _phones(norm: Normalized) -> Iterator[tuple[int, int, str]]:
    for m in _PHONE.finditer(norm.text):
        e164 = _phone_e164(m.group())
        if e164 is not None:
            yield m.start(), m.end(), e164


# --- payment identifiers ------------------------------------------------------------------------------

_IBAN = re.compile(r"(?<![a-z0-9])[a-z]{2}\d{2}(?:[ ]?[a-z0-9]{4}){2,7}(?:[ ]?[a-z0-9]{1,4})?(?![a-z0-9])")


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check on an IBAN written without spaces (any case)."""
    s = iban.upper()
    if not (15 <= len(s) <= 34) or not s[:2].isalpha() or not s[2:4].isdigit() or not s.isalnum():
        return False
    moved = s[4:] + s[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


_BECH32 = re.compile(r"(?<![a-z0-9])bc1[ac-hj-np-z02-9]{11,71}(?![a-z0-9])")
_BASE58 = re.compile(r"(?<![A-Za-z0-9])[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![A-Za-z0-9])")
_ETH = re.compile(r"(?<![a-z0-9])0x[0-9a-f]{40}(?![a-z0-9])")
# Wallet-shaped tokens (lower-cased text): bech32, legacy/P2SH base58, TRON, Ethereum.
_CRYPTO_SHAPE = re.compile(
    r"(?<![a-z0-9])(?:bc1[a-z0-9]{20,70}|[13t][a-z0-9]{25,34}|0x[0-9a-f]{38,42})(?![a-z0-9])"
)
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_valid(addr: str) -> bool:
    hrp, _, data = addr.rpartition("1")
    values = [_BECH32_CHARSET.find(c) for c in data]
    if hrp != "bc" or len(values) < 7 or -1 in values:
        return False
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk in (1, 0x2BC830A3)  # bech32 or bech32m


def _base58check_valid(addr: str) -> bool:
    n = 0
    for c in addr:
        n = n * 58 + _B58_ALPHABET.index(c)
    raw = n.to_bytes(25, "big") if n.bit_length() <= 200 else b""
    if len(raw) != 25:
        return False
    return hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


# --- amounts, handles, SIRET --------------------------------------------------------------------------

_AMOUNT = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[  .]\d{3})+|\d{1,7})(?:[.,](\d{1,2}))?\s?(?:€|eur\b|euros?\b|e\b|\$|usd\b|£)"
    r"|(?:€|\$|£)\s?(\d{1,7})(?:[.,](\d{1,2}))?(?!\d)"
)
_HANDLE = re.compile(
    r"(?<![\w.])(?:(?:www\.)?(paypal\.me|paypal\.com/paypalme|wa\.me|t\.me|telegram\.me|lydia-app\.com|revolut\.me)/([a-z0-9_.+-]{2,40})"
    r"|@([a-z][a-z0-9_]{3,31}))(?![\w@.]*\.[a-z]{2,})"
)
_DIGIT = re.compile(r"\d")
_SIRET = re.compile(r"(?<!\d)\d{3}[ ]?\d{3}[ ]?\d{3}[ ]?\d{5}(?!\d)")


def luhn_is_valid(digits: str) -> bool:
    """Luhn checksum (SIRET, card numbers) on a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_HANDLE_KINDS = {
    "paypal.me": "paypal", "paypal.com/paypalme": "paypal", "wa.me": "whatsapp", "t.me": "telegram",
    "telegram.me": "telegram",
    "lydia-app.com": "lydia", "revolut.me": "revolut",
}  # fmt: skip


def _make(norm: Normalized, kind: str, s: int, e: int, value: str, **detail: str) -> Entity:
    return Entity(kind=kind, value=value, span=norm.to_original(s, e), norm_span=(s, e), detail=dict(detail))


def _capped(items: Iterator[Entity]) -> tuple[Entity, ...]:
    out: list[Entity] = []
    for item in items:
        out.append(item)
        if len(out) >= MAX_PER_KIND:
            break
    return tuple(out)


def _userinfo_link(url: str) -> bool:
    """A link with a scheme whose "@" sits before the path: everything before it is user info the
    browser ignores, the classic way to show a brand's name in front of another host."""
    if not url.startswith(("http://", "https://")):
        return False
    authority = url.split("://", 1)[1].split("/", 1)[0]
    return "@" in authority


def extract(original: str, norm: Normalized) -> Entities:
    """Find the entities of `original` (already normalised as `norm`); spans point into `original`."""
    text = norm.text
    has_digit = _DIGIT.search(text) is not None
    emails = _capped(
        _make(norm, "email", m.start(), m.end(), m.group())
        for pattern in (_EMAIL, _EMAIL_BARE)
        for m in (pattern.finditer(text) if "@" in text else ())
        # "https://www.leboncoin.fr@evil.cn/": the user-info trick of a link, not an address.
        if not text.endswith("://", 0, m.start())
    )
    email_spans = [en.norm_span for en in emails]

    def inside_email(s: int, e: int) -> bool:
        return any(a <= s and e <= b for a, b in email_spans)

    urls = _capped(
        _make(norm, "url", s, e, url)
        for s, e, url in _urls(norm)
        if not inside_email(s, e) and ("@" not in url or _userinfo_link(url))
    )
    phones = _capped(_make(norm, "phone", s, e, v) for s, e, v in _phones(norm)) if has_digit else ()
    ibans = _capped(
        _make(norm, "iban", m.start(), m.end(), compact.upper())
        for m in (_IBAN.finditer(text) if has_digit else ())
        if iban_is_valid(compact := m.group().replace(" ", ""))
    )
    crypto_found: list[Entity] = [
        _make(norm, "crypto", m.start(), m.end(), m.group(), chain="eth")
        for m in (_ETH.finditer(text) if "0x" in text else ())
    ]
    crypto_found += [
        _make(norm, "crypto", m.start(), m.end(), m.group(), chain="btc")
        for m in (_BECH32.finditer(text) if "bc1" in text else ())
        if _bech32_valid(m.group())
    ]
    if has_digit and any(c in original for c in "13"):
        # Base58 is case-sensitive: search the original text, whose offsets are already final.
        crypto_found += [
            Entity("crypto", m.group(), (m.start(), m.end()), (m.start(), m.end()), {"chain": "btc"})
            for m in _BASE58.finditer(original)
            if _base58check_valid(m.group())
        ]
    iban_like = _capped(
        _make(norm, "iban_like", m.start(), m.end(), compact.upper(), checksum="invalid")
        for m in (_IBAN.finditer(text) if has_digit else ())
        if 15 <= len(compact := m.group().replace(" ", "")) <= 34 and not iban_is_valid(compact)
    )
    valid_crypto = {c.value.lower() for c in crypto_found}
    crypto_like = _capped(
        _make(norm, "crypto_like", m.start(), m.end(), m.group(), checksum="unverified")
        for m in (_CRYPTO_SHAPE.finditer(text) if has_digit else ())
        if m.group() not in valid_crypto and not m.group().isdigit()
    )
    amounts = _capped(
        _make(norm, "amount", m.start(), m.end(), _amount_value(m))
        for m in (_AMOUNT.finditer(text) if has_digit else ())
    )
    handles = _capped(
        _handle(norm, m) for m in _HANDLE.finditer(text) if not inside_email(m.start(), m.end())
    )
    sirets = _capped(
        _make(norm, "siret", m.start(), m.end(), digits)
        for m in (_SIRET.finditer(text) if has_digit else ())
        if luhn_is_valid(digits := m.group().replace(" ", ""))
    )
    return Entities(
        urls=urls,
        emails=emails,
        phones=phones,
        ibans=ibans,
        crypto=tuple(crypto_found[:MAX_PER_KIND]),
        amounts=amounts,
        handles=handles,
        sirets=sirets,
        iban_like=iban_like,
        crypto_like=crypto_like,
    )


def _amount_value(m: re.Match[str]) -> str:
    whole = (m.group(1) or m.group(3) or "0").replace(" ", "").replace("\u202f", "").replace(".", "")
    cents = m.group(2) or m.group(4) or ""
    return f"{int(whole)}.{cents.ljust(2, '0')}" if cents else str(int(whole))


def _handle(norm: Normalized, m: re.Match[str]) -> Entity:
    if m.group(1):
        service = _HANDLE_KINDS[m.group(1)]
        return _make(norm, "handle", m.start(), m.end(), f"{m.group(1)}/{m.group(2)}", service=service)
    return _make(norm, "handle", m.start(), m.end(), m.group(), service="at")
