"""Text normalisation that defeats obfuscation while remembering where every character came from.

`normalize(text)` returns a `Normalized` whose `.text` is what detectors and the text model read:
casefolded, accents folded, Unicode look-alikes mapped to ASCII (Unicode TR39 confusables data as
shipped by the `confusable-homoglyphs` package), zero-width/bidi characters removed, spaced or dotted
letters joined ("w h a t s a p p" -> "whatsapp"), "arobase"/"[at]"/"[.]"/"hxxp" undone, spelled
phone numbers turned into digits and leetspeak decoded for scam vocabulary ("p4yp4l" -> "paypal").

Every stage is a single left-to-right regex pass (linear time, no nested quantifiers) that records
the edits it made, so `Normalized.to_original(start, end)` maps any span of `.text` back to the
ORIGINAL string: that is what lets a reason highlight the exact characters a user received.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

_DATA_DIR = Path(__file__).parent / "data"

# Edit = (start, end, replacement) on the stage's input text; edits are sorted and disjoint.
Edit = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class _StageMap:
    """Offsets of the length-changing edits of one stage (output positions -> input positions).

    Outside edits the text is copied unchanged, so a position maps by a constant shift; inside a
    length-changing edit every output character maps to the whole replaced input range.
    """

    out_starts: list[int]
    out_ends: list[int]
    in_starts: list[int]
    in_ends: list[int]

    def char(self, pos: int) -> tuple[int, int]:
        """Input range [a, b) that output character `pos` came from."""
        i = bisect.bisect_right(self.out_starts, pos) - 1
        if i < 0:
            return pos, pos + 1
        if pos < self.out_ends[i]:
            return self.in_starts[i], self.in_ends[i]
        shifted = self.in_ends[i] + (pos - self.out_ends[i])
        return shifted, shifted + 1

    def boundary(self, pos: int) -> int:
        """Input position of the boundary just before output character `pos` (for empty spans)."""
        i = bisect.bisect_right(self.out_starts, pos) - 1
        if i < 0:
            return pos
        if pos < self.out_ends[i]:
            return self.in_starts[i]
        return self.in_ends[i] + (pos - self.out_ends[i])


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text plus the edit trail back to the original."""

    original: str
    text: str
    _stages: tuple[_StageMap, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the span [start, end) of `.text` to the smallest span of the original covering it.

        Always returns valid indices into the original (0 <= s <= e <= len(original)); a span whose
        characters were produced by a rewrite ("arobase" -> "@") covers the whole rewritten source.
        """
        n = len(self.text)
        start = max(0, min(start, n))
        end = max(start, min(end, n))
        if start == end:
            pos = start
            for stage in reversed(self._stages):
                pos = stage.boundary(pos)
            pos = min(pos, len(self.original))
            return pos, pos
        a, b = start, end
        for stage in reversed(self._stages):
            a, _ = stage.char(a)
            _, b = stage.char(b - 1)
        m = len(self.original)
        a = min(a, m)
        return a, max(a, min(b, m))


def _apply(text: str, edits: Iterable[Edit]) -> tuple[str, _StageMap | None]:
    """Apply sorted, disjoint edits; return the new text and the map (None when lengths never change)."""
    pieces: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    in_starts: list[int] = []
    in_ends: list[int] = []
    last = 0
    out_len = 0
    changed = False
    for start, end, repl in edits:
        if start < last:  # defensive: overlapping edits are skipped, never applied twice
            continue
        pieces.append(text[last:start])
        out_len += start - last
        pieces.append(repl)
        changed = True
        if len(repl) != end - start:
            out_starts.append(out_len)
            out_ends.append(out_len + len(repl))
            in_starts.append(start)
            in_ends.append(end)
        out_len += len(repl)
        last = end
    if not changed:
        return text, None
    pieces.append(text[last:])
    stage = _StageMap(out_starts, out_ends, in_starts, in_ends) if out_starts else None
    return "".join(pieces), stage


# --- stage 1: characters (NFKC, accents, case, confusables, invisible characters) -----------------


@functools.cache
def _confusables() -> dict[str, str]:
    """Non-ASCII look-alike -> ASCII letter/digit, from Unicode's confusables.txt (via the package)."""
    import confusable_homoglyphs  # local import: loading the table is deferred to first use

    path = Path(confusable_homoglyphs.__file__).parent / "confusables.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for key, homoglyphs in data.items():
        if len(key) == 1 and key.isascii() and key.isalnum():
            for entry in homoglyphs:
                glyph = entry["c"]
                if len(glyph) != 1 or glyph.isascii():
                    continue
                # Prefer letters over digits: look-alikes are mostly used to spell brand names.
                if glyph not in table or (table[glyph].isdigit() and key.isalpha()):
                    table[glyph] = key.lower()
    return table


# Typographic punctuation that phrase lists write in ASCII ("m’envoyer" is "m'envoyer").
_PUNCT_FOLD = {
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "\u2032": "'", "\u00ab": '"', "\u00bb": '"',
    "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-", "\u2212": "-",
}  # fmt: skip


# Latin small capitals ("ᴘᴀɪᴇᴍᴇɴᴛ", from "fancy text" generators): NFKC leaves them alone and the
# confusables table maps only a few of them.
_SMALL_CAPS = dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnopqrstuvwyz", strict=True))


@functools.lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """Fold one non-ASCII character to its matching form ('' for invisible characters)."""
    if ch in _PUNCT_FOLD:
        return _PUNCT_FOLD[ch]
    if ch in _SMALL_CAPS:
        return _SMALL_CAPS[ch]
    cat = unicodedata.category(ch)
    if cat == "Cf":  # zero-width joiners/spaces, bidi controls, soft hyphen
        return ""
    if ch.isspace():
        return " "
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", ch))
    stripped = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    table = _confusables()
    # Look-alikes are mapped before case folding: a Greek capital eta is an "H" to the eye, while its
    # lower case (eta) would read as "n" ("WΗΑΤSΑΡΡ").
    seen = "".join(c if c.isascii() else table.get(c, c) for c in stripped)
    if seen == "l" and stripped.isupper():  # TR39 sends capital iotas to "l"; in words they stand for "I"
        seen = "i"
    folded = seen.casefold()
    out = "".join(c if c.isascii() else table.get(c, c) for c in folded)
    # Keep the output stable under str.lower() so the ASCII pass below never changes its length.
    return out if out.lower() == out else out.lower()


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _fold_chars(text: str) -> Iterator[Edit]:
    for m in _NON_ASCII.finditer(text):
        repl = _fold_char(m.group())
        if repl != m.group():
            yield m.start(), m.end(), repl


# --- stage 2: whitespace ----------------------------------------------------------------------------

# Only non-trivial whitespace is touched: a single space is left alone, so ordinary text costs nothing.
_WS = re.compile(r"[ \t\r\f\v]*\n\s*|[ \t\r\f\v]{2,}|[\t\r\f\v]")


# Between two lone characters ("j e   s u i s"), a wide gap is the word break of a spaced-out text: it is
# kept two blanks wide so that stage 4 can tell it from the blanks between letters.
_LONE_GAP = re.compile(r"(?<![^\s])\S {2,}(?=\S(?!\S))")


def _whitespace(text: str) -> Iterator[Edit]:
    if "  " not in text and not any(c in text for c in "\n\t\r\f\v"):
        return
    lone_gaps = {m.start() + 1 for m in _LONE_GAP.finditer(text)}
    for m in _WS.finditer(text):
        repl = "\n" if "\n" in m.group() else " "
        if repl == " " and m.start() in lone_gaps and m.group().isspace():
            repl = "  "
        if repl != m.group():
            yield m.start(), m.end(), repl


# --- stage 3: written-out punctuation used to hide addresses ----------------------------------------

# Only TLDs that are not also everyday words after "point" ("au point de vue" must stay prose).
_TLDS = "com|fr|net|org|info|biz|me|io|eu|xyz|ru"
_MAIL_HOSTS = (
    "gmail|hotmail|yahoo|outlook|live|icloud|orange|free|sfr|laposte|protonmail|proton|gmx|wanadoo|aol"
)
_PUNCT = re.compile(
    r"[\[({]\s*(?:\.|dot|point|punto)\s*[\])}]"  # [.] (dot) {point}
    rf"|\s(?:point|dot)\s+(?=(?:{_TLDS})\b)"  # "gmail point com"
    r"|[\[({]\s*(?:at|@|arobase)\s*[\])}]|\barr?obas(?:e|se)?\b"  # [at] (@) arobase
    rf"|\sat\s+(?=(?:{_MAIL_HOSTS})\b)"  # "john at gmail dot com"
    r"|\bh(?:xx|tt|\*\*|xt|tx)p(s?)\s*[:;]?\s*/\s*/"  # hxxp://  http //  http : //
    r"|\bh(?:xx|\*\*)p(s?)\b"  # bare hxxp
    r"|(?<=[a-z0-9]) @ ?(?=[a-z0-9-]+ ?\. ?[a-z])"  # "jean @ gmail.com"
    r"|(?<=[a-z0-9])@ (?=[a-z0-9-]+ ?\. ?[a-z])"  # "jean@ gmail.com"
    rf"|(?<=[a-z0-9]) \. ?(?=(?:{_TLDS})\b)|(?<=[a-z0-9])\. (?=(?:{_TLDS})\b)"  # "orange . fr"
)
# Cheap substring tests that must all fail for _PUNCT to have nothing to do (most messages).
_PUNCT_HINTS = (
    "[",
    "(",
    "{",
    "point",
    "dot",
    " at ",
    "obas",
    "xxp",
    "**p",
    "http",
    "hxt",
    "htx",
    "@ ",
    " @",
    ". ",
)


def _punctuation(text: str) -> Iterator[Edit]:
    if not any(h in text for h in _PUNCT_HINTS):
        return
    n = len(text)
    for m in _PUNCT.finditer(text):
        s = m.group()
        core = s.strip()
        if m.group(1) is not None:
            repl = f"http{m.group(1)}://"
        elif m.group(2) is not None:
            repl = f"http{m.group(2)}"
        else:
            if core == ".":
                # "jean@orange . fr" only: a spaced dot elsewhere ends a sentence ("Merci. Me...").
                before = text[max(0, m.start() - 40) : m.start()].rsplit("@", 1)
                if len(before) < 2 or before[1].strip().count(" ") > 0:
                    continue
                repl = "."
            elif core == "@":
                repl = "@"
            else:
                repl = (
                    "."
                    if core in {"point", "dot"} or core[1:-1].strip() in {".", "dot", "point", "punto"}
                    else "@"
                )
            # Swallow the spaces around a written-out "@"/"." so the address reads as one token.
            start, end = m.start(), m.end()
            while start > 0 and text[start - 1] == " ":
                start -= 1
            while end < n and text[end] == " ":
                end += 1
            yield start, end, repl
            continue
        if repl != s:
            yield m.start(), m.end(), repl


# --- stage 4: spaced or dotted single characters ----------------------------------------------------

# A run of at least four single characters separated by the same kind of filler ("w h a t s a p p",
# "p.a.y.p.a.l", "0 6 1 2 ...", "+ 4 4 7 9 ..." whose "+" is the international prefix). Each iteration
# consumes exactly one character then 1-3 separators, two disjoint classes, so the regex cannot
# backtrack catastrophically.
_SPACED = re.compile(r"(?<![\w@$+])(?:[a-z0-9@$+][ .\-_*|~]{1,3}){3,}[a-z0-9@$](?![\w@$])")
_SEPARATORS = re.compile(r"[ .\-_*|~]+")


def _spaced(text: str) -> Iterator[Edit]:
    for m in _SPACED.finditer(text):
        run = m.group()
        letters = _SEPARATORS.sub("", run)
        # "1.2.3.4" is an IP address or a version, not an obfuscated word: leave digit runs with dots.
        if letters.isdigit() and "." in run:
            continue
        base = m.start()
        seps = [sep for sep in _SEPARATORS.finditer(run)]
        spaced_out = sum(sep.group().isspace() for sep in seps) * 2 > len(seps)
        # "j e   s u i s": letters one blank apart, words wider apart; the wider gaps stay word breaks.
        blank_widths = {len(sep.group()) for sep in seps if sep.group().isspace()}
        narrow = min(blank_widths) if len(blank_widths) > 1 else None
        for sep in seps:
            # In a run spaced out by blanks, a "." or "-" standing between blanks is written punctuation
            # ("l e b o n c o i n - r e m b o u r s . c o m" is a domain): keep it, drop the blanks.
            kept = sep.group().strip() if spaced_out and sep.group().strip() in (".", "-") else ""
            if narrow is not None and sep.group().isspace() and len(sep.group()) > narrow:
                kept = " "
            yield base + sep.start(), base + sep.end(), kept


def _leftover_gaps(text: str) -> Iterator[Edit]:
    """Two-blank gaps that stage 4 did not turn into word breaks become one blank again."""
    if "  " not in text:
        return
    for m in re.finditer(r" {2,}", text):
        yield m.start(), m.end(), " "


# --- stage 5: phone numbers written in words --------------------------------------------------------

_UNITS = {
    "zero": 0, "un": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7,
    "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS = {
    "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_NUMBER_WORDS = sorted({*_UNITS, *_TEENS, *_TENS, "et"}, key=len, reverse=True)
_W = r"(?:\d{1,4}|" + "|".join(_NUMBER_WORDS) + r")\b"
# Four or more number words (or digit groups) in a row, at least one of them a word: a phone number
# read aloud ("zéro six douze...", "ZÉRO 6 52 26 91 04"), never ordinary prose.
_NUMBER_RUN = re.compile(rf"\b{_W}(?:[ ,\-]{{1,3}}{_W}){{3,}}")
_WORD = re.compile(r"[a-z]+|\d+")


def _parse_number_words(words: list[str]) -> list[tuple[int, int, str]]:
    """Group number words into values; returns (first word index, last word index, digits)."""
    groups: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        w = words[i]
        start = i
        if w.isdigit():
            groups.append((start, i, w))
            i += 1
            continue
        if w == "et":
            i += 1
            continue
        if w == "quatre" and i + 1 < len(words) and words[i + 1] in {"vingt", "vingts"}:
            value, i = 80, i + 2
        elif w in _TENS:
            value, i = _TENS[w], i + 1
        elif w == "dix" and i + 1 < len(words) and words[i + 1] in {"sept", "huit", "neuf"}:
            groups.append((start, i + 1, str(10 + _UNITS[words[i + 1]])))
            i += 2
            continue
        elif w in _TEENS:
            groups.append((start, i, str(_TEENS[w])))
            i += 1
            continue
        else:
            groups.append((start, i, str(_UNITS[w])))
            i += 1
            continue
        # A tens word may be followed by "et", a unit, or (for 60 and 80) a teen: soixante-dix-huit.
        if i < len(words) and words[i] == "et":
            i += 1
        if i < len(words):
            nxt = words[i]
            if value in (60, 80) and nxt in _TEENS:
                value += _TEENS[nxt]
                i += 1
                if nxt == "dix" and i < len(words) and words[i] in {"sept", "huit", "neuf"}:
                    value += _UNITS[words[i]]
                    i += 1
            elif nxt in _UNITS and _UNITS[nxt] > 0:
                value += _UNITS[nxt]
                i += 1
        groups.append((start, i - 1, str(value)))
    return groups


def _number_words(text: str) -> Iterator[Edit]:
    for m in _NUMBER_RUN.finditer(text):
        spans = [(w.start(), w.end()) for w in _WORD.finditer(m.group())]
        words = [m.group()[a:b] for a, b in spans]
        if sum(1 for w in words if not w.isdigit() and w != "et") == 0:
            continue  # digits only ("06 12 34 56 78"): already a number, leave the layout alone
        groups = _parse_number_words(words)
        base = m.start()
        prev_end: int | None = None
        for first, last, digits in groups:
            s, e = base + spans[first][0], base + spans[last][1]
            if prev_end is not None and prev_end < s:
                yield prev_end, s, ""  # "zéro six douze" -> "0612": one token for phone parsing
            yield s, e, digits
            prev_end = e


# --- stage 6: leetspeak -----------------------------------------------------------------------------

_LEET: dict[str, tuple[str, ...]] = {
    "0": ("o",), "1": ("i", "l"), "3": ("e",), "4": ("a",), "5": ("s",), "7": ("t",),
    "8": ("b",), "9": ("g",), "@": ("a",), "$": ("s",), "!": ("i",), "|": ("l", "i"),
    "€": ("e",), "†": ("t",),  # "vir€ment", "wha†sapp"
}  # fmt: skip
# Tokens mixing letters with leet symbols; the lookbehind anchors each attempt at a token start,
# so the lookaheads scan every token a constant number of times.
_LEET_TOKEN = re.compile(
    r"(?<![\w@$!|€†])(?=[\w@$!|€†]*[0-9@$!|€†])(?=[\w@$!|€†]*[a-z])[\w@$!|€†]{3,24}(?![\w@$!|€†])"
)


@functools.cache
def _leet_lexicon() -> frozenset[str]:
    """Scam vocabulary that leetspeak is decoded into (decoding anything else could invent words)."""
    path = _DATA_DIR / "leet_lexicon.txt"
    words = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(w for w in words if w and not w.startswith("#"))


def _leet_candidates(token: str, limit: int = 16) -> Iterator[str]:
    options = [_LEET.get(c, (c,)) for c in token]
    produced = [""]
    for opts in options:
        produced = [p + o for p in produced for o in opts][:limit]
    yield from produced


_LEET_HINT = re.compile(r"[a-z][0-9@$!|€†]|[0-9@$!|€†][a-z]")


def _leetspeak(text: str) -> Iterator[Edit]:
    if _LEET_HINT.search(text) is None:
        return
    lexicon = _leet_lexicon()
    for m in _LEET_TOKEN.finditer(text):
        token = m.group()
        if "@" in token and token.count("@") == 1 and not token.startswith("@"):
            # "jean@gmail" is more likely a truncated address than "je@n".
            at = token.index("@")
            if at + 1 < len(token) and token[at + 1 :].isalpha() and len(token) - at > 4:
                continue
        for cand in _leet_candidates(token):
            if cand in lexicon:
                yield m.start(), m.end(), cand
                break


# "O6 18 3O 72 42": the letter o typed for a zero inside digit groups (needs a digit in the token).
_O_FOR_ZERO = re.compile(r"(?<![\w])(?=o*\d)[o\d]*o[o\d]*(?!\w)")


def _o_for_zero(text: str) -> Iterator[Edit]:
    if _O_DIGIT_HINT.search(text) is None:
        return
    for m in _O_FOR_ZERO.finditer(text):
        yield m.start(), m.end(), m.group().replace("o", "0")


_O_DIGIT_HINT = re.compile(r"o\d|\do")

# --- stage 7: SMS abbreviations ----------------------------------------------------------------------

# Texting shorthand written out, so that one lexicon term ("je vous envoie") also covers "jvs envoie" or
# "je vs envoie". Only tokens that are not ordinary words in French or English are expanded.
_SMS_WORDS = {
    "vs": "vous", "jvs": "je vous", "jvous": "je vous", "pr": "pour", "qd": "quand", "bcp": "beaucoup",
    "tjrs": "toujours", "tjs": "toujours", "jsuis": "je suis", "chui": "je suis", "jte": "je te",
    "jvais": "je vais", "jai": "j'ai", "jenvoie": "j'envoie", "jenvoi": "j'envoie", "jpeux": "je peux",
    "jne": "je ne", "ns": "nous", "ke": "que", "koi": "quoi", "ki": "qui", "dc": "donc", "msg": "message",
    "mrc": "merci", "bjr": "bonjour", "slt": "salut", "cmt": "comment", "pk": "pourquoi", "pq": "pourquoi",
    "rdv": "rendez-vous", "ajd": "aujourd'hui", "auj": "aujourd'hui", "ds": "dans", "tt": "tout",
    "qq": "quelque", "qqn": "quelqu'un", "mtn": "maintenant",
    "pls": "please", "plz": "please", "thx": "thanks", "tmrw": "tomorrow",
}  # fmt: skip
_SMS = re.compile(
    r"(?<![\w@./'-])(?:" + "|".join(sorted(_SMS_WORDS, key=len, reverse=True)) + r")(?![\w@'-])"
)


def _sms_words(text: str) -> Iterator[Edit]:
    for m in _SMS.finditer(text):
        yield m.start(), m.end(), _SMS_WORDS[m.group()]


_STAGES: tuple[Callable[[str], Iterator[Edit]], ...] = (
    _whitespace,
    _spaced,  # before punctuation, so "j e a n (at) gmail" joins into "jean" first
    _leftover_gaps,
    _punctuation,
    _o_for_zero,
    _number_words,
    _leetspeak,
    _sms_words,
)


def normalize(text: str) -> Normalized:
    """Normalise `text` for matching; linear in its length.

    The result's `.text` is lower-case ASCII-dominant text with obfuscation undone; it never gains
    words that were not written (only scam vocabulary is leet-decoded, only runs of four or more
    spaced characters are joined, only four or more number words become digits).
    """
    stages: list[_StageMap] = []
    if text.isascii():
        current = text.lower()
    else:
        current, stage = _apply(text, _fold_chars(text))
        current = current.lower()
        if stage is not None:
            stages.append(stage)
    for step in _STAGES:
        current, stage = _apply(current, step(current))
        if stage is not None:
            stages.append(stage)
    return Normalized(original=text, text=current, _stages=tuple(stages))
