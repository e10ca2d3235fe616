"""What a link's path, query and fragment show: the mechanisms of phishing kits, not the host.

Kits are uploaded into compromised sites and free hosts, so their host is often an honest-looking name;
what gives them away is where they sit and what they ask for:
  - a kit page: a script or page named for credentials, billing or delivery (`login.php`,
    `verify.html`, `webmail.php`, `suivi-colis.php`) in a folder of the site;
  - a site's internals used as a hiding place (`/wp-includes/...`, `/wp-content/plugins/...`,
    `/.well-known/...`): nobody sends a buyer there;
  - the victim's e-mail address carried along (`?email=a@b.fr`, `#a@b.fr`, or base64-encoded) so that
    the fake login form comes pre-filled;
  - an encoded destination (`away.php?to=https%3A%2F%2F...`, base64 `aHR0cHM6Ly...`): an open redirect
    or an obfuscated hop;
  - credential/delivery words as folders (`/Login/`, `/moncompte/`, `/update.email/`) and deep runs of
    machine-made folder names.
Each is a `phishing_link` weight below a warning on its own (except the base64-hidden URL or e-mail,
which honest links do not do); they combine with each other and with the host's signals by noisy-OR.

Honest URLs have paths too: article slugs ("how-to-secure-your-account") are prose, so a segment of
four words or more is never read as a kit folder; query strings are read for e-mails and destinations
only (honest sites use "account_id=" or "next=/login" keys); a shop's own "/account/login" page stays
under the warning. The brand's real domains never get here (the analyzer returns early for them).

Pure and bounded: `ParsedUrl.path` is at most 512 characters, and no pattern here backtracks.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from scoring.domain_signal import DomainSignal
from scoring.skeleton import fold_accents
from scoring.types import Category

# Words of credential, billing and delivery kits. Long ones match inside a name ("webmaillogin",
# "authen"), short ones only as a whole word of the name ("otp", "sms", "pay").
_KIT_WORDS_LONG = (
    "login",
    "logon",
    "signin",
    "verif",
    "validat",
    "confirm",
    "secur",
    "update",
    "account",
    "billing",
    "webscr",
    "webmail",
    "roundcube",
    "outlook",
    "office365",
    "password",
    "passwd",
    "unlock",
    "suspend",
    "recover",
    "authen",
    "identif",
    "connexion",
    "moncompte",
    "compte",
    "payment",
    "paiement",
    "checkout",
    "facture",
    "invoice",
    "rembours",
    "refund",
    "livraison",
    "colis",
    "suivi",
    "tracking",
    "delivery",
    "parcel",
    "douane",
    "customs",
    "wallet",
    "captcha",
    "transfer",
    "virement",
    "verfy",
    "acount",
    "banque",
    "banking",
    "carte",
    # national e-ID and bank-ID logins, the gate kits imitate before a transfer or a "refund"
    "bankid",
    "franceconnect",
    "itsme",
)
_KIT_WORDS_SHORT = frozenset(
    {"auth", "otp", "sms", "cc", "card", "pay", "bank", "owa", "sso", "kyc", "pin", "code", "mail"}
)
# Script and page extensions of a kit's files (static assets are not where a victim is sent).
_PAGE_FILE = re.compile(r"\.(?:php\d?|html?|aspx?|jsp|cgi|pl)$")
# Images, styles and scripts: a link to one is not a page that asks for anything.
_STATIC_FILE = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|ico|css|js|pdf|mp4|mp3|woff2?)$")
# A site's internals: never a page someone sends to a buyer.
_INTERNAL_FOLDERS = frozenset({"wp-includes", "wp-admin", ".well-known"})
_EMAIL = re.compile(r"[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*\.[a-z]{2,12}")
# "http://", "https://", URL-encoded once or twice, and base64 of "http" ("aHR0c").
_EMBEDDED_URL = re.compile(r"(?:^|[=/&?#])(?:https?(?::|%3a|%253a)(?:/|%2f|%252f){2}|www\.)")
_BASE64_URL = "ahr0c"  # base64("http") starts "aHR0c": matched on the folded path
# One path segment or query value: "/" separates folders here, so it is not read as base64.
_BASE64_TOKEN = re.compile(r"[A-Za-z0-9+_-]{16,}={0,2}")
_SPLIT = re.compile(r"[^a-z0-9]+")
_VOWELS = frozenset("aeiou")
# An article slug: a segment of this many words or more is prose, not a kit folder.
_SLUG_WORDS = 4
_COMPOUND_MAX = 16

# Query keys that name where to send the visitor next: an open redirect's handle.
_REDIRECT_KEYS = frozenset(
    {
        "to",
        "url",
        "u",
        "redirect",
        "redirect_uri",
        "redirect_url",
        "redir",
        "goto",
        "go",
        "dest",
        "destination",
        "target",
        "out",
        "link",
        "r",
        "next",
        "continue",
        "return",
        "returnurl",
        "q",
    }
)
_QUERY_PAIR = re.compile(r"[?&#;]([a-z_]{1,20})=(?:https?:|www\.)")
# A short link on a domain our shortener list does not know: one opaque case-mixed token.
_OPAQUE_TOKEN = re.compile(r"/[A-Za-z0-9_-]{4,16}/?")
_SHORT_LABEL_MAX = 6
# Brands' own short domains: they only ever lead to the brand's own content.
_BRAND_SHORT_DOMAINS = frozenset(
    {
        "youtu.be",
        "amzn.to",
        "amzn.eu",
        "a.co",
        "pin.it",
        "spoti.fi",
        "discord.gg",
        "flic.kr",
        "g.co",
        "redd.it",
        "instagr.am",
        "ebay.us",
        "apple.co",
        "wa.me",
        "fb.me",
        "m.me",
        "t.me",
        "x.com",
    }
)

# Content addressed on IPFS (/ipfs/<CID>) through whatever gateway: it cannot be taken down.
_IPFS_PATH = re.compile(r"/ip[fn]s/(?:qm[1-9a-z]{44}|baf[a-z2-7]{50,})")
IPFS_PATH_WEIGHT = 0.45
# A folder named like a site ("/paypal.com/signin", "/kundeniono.de/"): the address bar reads as it.
_DOMAIN_FOLDER = re.compile(
    r"(?:[a-z0-9-]{1,40}\.){1,3}(?:com|net|org|fr|de|es|it|nl|be|ch|pl|uk|co|io|jp|br|ru|at|au|ca|us|eu|pt)"
)
DOMAIN_FOLDER_WEIGHT = 0.3
# One long token of the base64 alphabet mixing cases and digits: an encrypted session or victim id.
OPAQUE_TOKEN_WEIGHT = 0.3
_OPAQUE_MIN = 40
_SCRIPT_FILE = re.compile(r"\.(?:php\d?|aspx?|jsp|cgi)$")
_ASSET_FOLDERS = frozenset(
    {"css", "js", "img", "images", "image", "fonts", "font", "assets", "static", "media", "uploads", "files"}
)
SCRIPT_IN_ASSETS_WEIGHT = 0.45
KIT_PAGE_WEIGHT = 0.45
KIT_PAGE_DEEP_WEIGHT = 0.45  # two folders or more: dropped inside someone else's site
KIT_FOLDER_WEIGHT = 0.2
KIT_FOLDERS_WEIGHT = 0.3
INTERNALS_WEIGHT = 0.45
INTERNALS_WITH_PAGE_WEIGHT = 0.55
EMAIL_WEIGHT = 0.3
HIDDEN_WEIGHT = 0.55
REDIRECT_WEIGHT = 0.3
OPEN_REDIRECT_WEIGHT = 0.35
RANDOM_FOLDERS_WEIGHT = 0.2
OPAQUE_SHORT_LINK_WEIGHT = 0.45
# A kit page inside a folder that also names credentials ("/secure/login.php", "/Webmail/1/webmail.php"):
# a page and its folder both built for the same login; with the page's 0.45 it reaches a warning.
KIT_PAGE_IN_KIT_FOLDER_WEIGHT = 0.2
# The same folder name twice ("/arubapanel/arubapanel/", "/Webmail/68/Webmail/"): a kit archive
# unpacked into a folder of its own name, inside someone else's site.
_REPEATED_MIN = 5
REPEATED_FOLDER_WEIGHT = 0.3
# A mass-mailing service's click-tracking path on its customer's own tracking domain
# (url1234.brand.example/ls/click?upn=...): the destination is hidden as in a shortener.
_CLICK_TRACKING_PATH = re.compile(r"/(?:ls|wf)/click\?upn=")
CLICK_TRACKER_PATH_WEIGHT = 0.5
# On a host that already looks risky (free hosting, odd TLD, random label, IP), kit words in folders
# are the page's purpose, not a shop's account section.
RISKY_HOST_FOLDER_WEIGHT = 0.3


@dataclass(frozen=True, slots=True)
class _Path:
    """A path split for reading: folded, decoded once, folders and the last name separated."""

    raw: str  # as sent (base64 is case-sensitive)
    folded: str  # accents folded, lowercased, percent-decoded once
    folders: tuple[str, ...]
    name: str  # the last segment when the path does not end with "/", else ""
    query: str  # query + fragment, folded


def _split(path: str) -> _Path:
    raw = path[:512]
    folded = fold_accents(unquote(raw)).casefold()
    cut = len(folded)
    for sep in "?#;":
        pos = folded.find(sep)
        if pos != -1 and pos < cut:
            cut = pos
    path_part, query = folded[:cut], folded[cut:]
    segments = [s for s in path_part.split("/") if s]
    if segments and not path_part.endswith("/"):
        return _Path(raw, folded, tuple(segments[:-1]), segments[-1], query)
    return _Path(raw, folded, tuple(segments), "", query)


def _words(segment: str) -> list[str]:
    return [w for w in _SPLIT.split(segment) if w]


def kit_words(segment: str) -> set[str]:
    """Credential/billing/delivery words in one path segment (none when the segment is prose)."""
    words = _words(segment)
    if not words or len(words) >= _SLUG_WORDS:
        return set()
    found = {w for w in words if w in _KIT_WORDS_SHORT}
    compact = "".join(words)
    if len(words) > 1 and len(compact) <= _COMPOUND_MAX:
        words.append(compact)  # "sign-in", "mon_compte": one word written in pieces
    for word in words:
        # Inside a short compound ("webmaillogin", "authen") a kit word is the name's point; inside
        # a long one ("winxpsecuritychecklist") it is one word of a title.
        if len(word) <= _COMPOUND_MAX:
            found.update(kit for kit in _KIT_WORDS_LONG if kit in word)
        else:
            found.update(kit for kit in _KIT_WORDS_LONG if word.startswith(kit) or word.endswith(kit))
    return found


def looks_machine_made(segment: str) -> bool:
    """A folder name no person chose: hex runs, or letters and digits mixed with few vowels."""
    if len(segment) < 10 or not segment.isascii():
        return False
    token = segment.replace("-", "").replace("_", "")
    if not token.isalnum():
        return False
    digits = sum(ch.isdigit() for ch in token)
    letters = len(token) - digits
    if letters == 0:
        return False  # an article or order number
    if all(ch in "0123456789abcdef" for ch in token.casefold()) and digits >= 3:
        return True
    vowels = sum(ch in _VOWELS for ch in token.casefold())
    return digits >= 2 and letters >= 4 and vowels / letters < 0.3


def _hidden_in_base64(raw: str) -> str:
    """ "url" or "email" when a base64 token of the path decodes to a URL or an e-mail address."""
    for match in _BASE64_TOKEN.finditer(raw):
        token = match.group(0)
        padded = token + "=" * (-len(token) % 4)
        try:
            decoded = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            continue
        text = decoded.decode("latin-1").casefold()
        if "http://" in text or "https://" in text:
            return "url"
        if _EMAIL.search(text):
            return "email"
    return ""


def path_signals(path: str, domain: str, host: str = "", risky_host: bool = False) -> list[DomainSignal]:
    """`phishing_link` signals for the path + query + fragment of a link on a host that is not allowed.

    `domain` is the link's registrable domain (detail), `host` the full host (short-link shape),
    `risky_host` whether the host already raised a shape signal. Empty for a bare host or an ordinary
    path.
    """
    if len(path) < 2:
        return []
    parts = _split(path)
    if _STATIC_FILE.search(parts.name):
        return []
    out: list[DomainSignal] = []

    def add(
        code: str, weight: float, technique: str, category: Category = Category.PHISHING_LINK, **extra: object
    ) -> None:
        detail = {"domain": domain, "brand": None, "technique": technique, **extra}
        out.append(DomainSignal(code, category, weight, detail))

    name_words = kit_words(parts.name) if _PAGE_FILE.search(parts.name) else set()
    folder_words: set[str] = set()
    # A last name without an extension is a route ("/Main/Login", "campsite.bio/myaccount678").
    routes = parts.folders if "." in parts.name or not parts.name else (*parts.folders, parts.name)
    for folder in routes:
        folder_words |= kit_words(folder)
    if name_words:
        weight = KIT_PAGE_DEEP_WEIGHT if len(parts.folders) >= 2 else KIT_PAGE_WEIGHT
        add("url.path_kit_page", weight, "kit_page", page=parts.name, words=sorted(name_words))
    internals = _internal_folder(parts.folders, parts.name)
    if internals:
        page = bool(_PAGE_FILE.search(parts.name)) or bool(folder_words)
        weight = INTERNALS_WITH_PAGE_WEIGHT if page else INTERNALS_WEIGHT
        add("url.path_site_internals", weight, "site_internals", folder=internals)
    if folder_words and not name_words:
        several = len(_distinct(folder_words)) >= 2 or risky_host
        weight = KIT_FOLDERS_WEIGHT if several else KIT_FOLDER_WEIGHT
        add("url.phishing_words_path", weight, "phishing_words", words=sorted(folder_words))
    elif folder_words:
        add(
            "url.phishing_words_path",
            KIT_PAGE_IN_KIT_FOLDER_WEIGHT,
            "kit_page_in_kit_folder",
            words=sorted(folder_words),
        )
    repeated = _repeated_folder(parts.folders)
    if repeated:
        add("url.path_repeated_folder", REPEATED_FOLDER_WEIGHT, "kit_folder_twice", folder=repeated)
    hidden = _hidden_in_base64(parts.raw) if _BASE64_URL in parts.folded or len(parts.raw) >= 20 else ""
    if hidden:
        add("url.path_hidden_" + hidden, HIDDEN_WEIGHT, "base64_" + hidden)
    elif _EMAIL.search(parts.folded):
        add("url.path_email", EMAIL_WEIGHT, "victim_email")
    if hidden != "url" and _EMBEDDED_URL.search(parts.folded, 1):
        # An e-mail address carried through a redirect ("away.php?to=https://x/?email=a@b.fr") is two
        # mechanisms: the victim's address and a hop that hides where it ends.
        keys = {m.group(1) for m in _QUERY_PAIR.finditer(parts.query)}
        if keys & _REDIRECT_KEYS:
            add(
                "url.path_redirect", OPEN_REDIRECT_WEIGHT, "open_redirect", keys=sorted(keys & _REDIRECT_KEYS)
            )
        else:
            add("url.path_redirect", REDIRECT_WEIGHT, "embedded_url")
    if _CLICK_TRACKING_PATH.match(parts.raw):
        add(
            "url.click_tracker",
            CLICK_TRACKER_PATH_WEIGHT,
            "click_tracking_path",
            category=Category.URL_SHORTENER,
        )
    if host and _opaque_short_link(host, domain, parts.raw):
        add("url.opaque_short_link", OPAQUE_SHORT_LINK_WEIGHT, "opaque_short_link")
    disguise = next((f for f in parts.folders if _DOMAIN_FOLDER.fullmatch(f)), "")
    if disguise:
        add("url.path_domain_folder", DOMAIN_FOLDER_WEIGHT, "domain_as_folder", folder=disguise)
    if any(_looks_encrypted(segment) for segment in parts.raw.split("?", 1)[0].split("/")):
        add("url.path_opaque_token", OPAQUE_TOKEN_WEIGHT, "opaque_token")
    if _SCRIPT_FILE.search(parts.name) and any(f in _ASSET_FOLDERS for f in parts.folders):
        # A script among a site's images and styles ("/css/themes.php", "/uploads/x.php"): dropped there.
        add("url.path_script_in_assets", SCRIPT_IN_ASSETS_WEIGHT, "script_in_assets", page=parts.name)
    if _IPFS_PATH.search(parts.folded):
        add("url.path_ipfs", IPFS_PATH_WEIGHT, "ipfs_content")
    machine = sum(looks_machine_made(s) for s in parts.folders)
    if machine >= 2 or (machine == 1 and (name_words or folder_words)):
        add("url.path_random_folders", RANDOM_FOLDERS_WEIGHT, "machine_made_folders", folders=machine)
    return out


def _internal_folder(folders: tuple[str, ...], name: str) -> str:
    for i, folder in enumerate(folders):
        if folder in _INTERNAL_FOLDERS:
            return folder
        if folder == "wp-content":
            # wp-content/uploads holds the images people link to; anything else there (plugins,
            # themes, a folder of its own), or the bare folder itself, is where kits are dropped.
            following = folders[i + 1] if i + 1 < len(folders) else ""
            if following != "uploads":
                return "/".join(("wp-content", following)).rstrip("/")
        if folder == "uploads" and i == len(folders) - 1 and not name:
            return "uploads"  # the listing of an uploads folder, not a file in it
        if folder.startswith(".") and len(folder) > 1:
            return folder  # a hidden folder ("/.cel/", "/.well-known/")
    return ""


def _repeated_folder(folders: tuple[str, ...]) -> str:
    """A folder name (5+ characters, not a number) that appears twice in the path, else ""."""
    seen: set[str] = set()
    for folder in folders:
        if len(folder) >= _REPEATED_MIN and not folder.isdigit():
            if folder in seen:
                return folder
            seen.add(folder)
    return ""


def _distinct(words: Iterable[str]) -> set[str]:
    """One written word counts once ("verif" inside "verification" next to "verification")."""
    words = set(words)
    return {w for w in words if not any(w != other and w in other for other in words)}


def _opaque_short_link(host: str, domain: str, raw: str) -> bool:
    """`zrr.kr/rsqK`, `u3l.co/FD2Dv`: a tiny domain and one opaque token, the shape of a shortener.

    Read on the path as sent (the case is the tell: base62 tokens mix upper and lower case or letters
    and digits, or are all capitals, or letters no one would read as a word; "/contact", "/fr" or
    "/promo" are none of these).
    """
    if host not in (domain, "www." + domain) or domain in _BRAND_SHORT_DOMAINS:
        return False
    label = domain.split(".", 1)[0]
    if len(label) > _SHORT_LABEL_MAX:
        return False
    match = _OPAQUE_TOKEN.fullmatch(raw.split("?", 1)[0].split("#", 1)[0])
    if match is None:
        return False
    token = raw.strip("/").split("?", 1)[0].split("#", 1)[0]
    upper = any(ch.isupper() for ch in token)
    lower = any(ch.islower() for ch in token)
    digit = any(ch.isdigit() for ch in token)
    if (upper and lower) or (digit and (upper or lower) and not token.isdigit()):
        return True
    letters = token.replace("-", "").replace("_", "")
    if upper and len(letters) >= 5 and letters.isalpha():
        return True  # "HHVHTHN": capitals only, no word of the site's own
    if len(letters) < 6 or not letters.isalpha():
        return False
    # "uhghfgjg": few vowels AND a long consonant run ("strength" has the first, not the second).
    folded = letters.casefold()
    run = longest = 0
    for ch in folded:
        run = 0 if ch in _VOWELS else run + 1
        longest = max(longest, run)
    return sum(ch in _VOWELS for ch in folded) / len(folded) < 0.2 and longest >= 5


def _looks_encrypted(segment: str) -> bool:
    if len(segment) < _OPAQUE_MIN or not _BASE64_TOKEN.fullmatch(segment):
        return False
    return (
        any(ch.isupper() for ch in segment)
        and any(ch.islower() for ch in segment)
        and sum(ch.isdigit() for ch in segment) >= 3
    )
