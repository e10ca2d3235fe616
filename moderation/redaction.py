"""Personal data never reaches the logs: a logging filter that masks it in every record.

Messages are scam reports and conversations, so anything a log line quotes (an exception
message, a URL, a third-party library's debug output) may carry the phone numbers, e-mail
addresses, IBANs and card numbers of real people, or an API key. Code already avoids logging
content; this filter is the safety net behind that discipline.

`install_log_redaction()` is called by both composition roots. It installs the filter through
the log-record factory, so every record is redacted when it is created, whichever handler later
formats it (gunicorn's access log, RQ's worker log, pytest's capture, a handler added after
start-up). It is idempotent.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from scoring.extract import luhn_is_valid

# Replacement tokens name what was masked: a log stays useful for debugging ("the user sent an
# e-mail") without revealing which one.
MASKS = {
    "api_key": "[key]",
    "email": "[email]",
    "iban": "[iban]",
    "card": "[card]",
    "phone": "[phone]",
}

_API_KEY = re.compile(r"\bvg_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{8,}|(?i:\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}")
# Local part and domain are bounded so a pathological line cannot make the regex slow.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}")
# Country code, 2 check digits, then 11 to 30 alphanumerics, optionally grouped by 4 with spaces.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
# 13 to 19 digits, optionally grouped with spaces or dashes; only Luhn-valid ones are cards.
_CARD = re.compile(r"(?<![\w])(?:\d[ -]?){12,18}\d(?![\w])")
# French numbers (0X XX XX XX XX, +33 / 0033 forms) and other international numbers (+CC ...).
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)33[\s.-]?(?:\(0\)[\s.-]?)?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\w)"
    r"|(?<![\w+])\+\d{1,3}(?:[\s.-]?\d{2,4}){2,5}(?!\w)"
)


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return MASKS["card"] if luhn_is_valid(digits) else match.group(0)


def redact(text: str) -> str:
    """`text` with API keys, e-mail addresses, IBANs, card numbers and phone numbers masked.

    Order matters: keys and e-mails first (they contain digit runs), then IBANs and cards (long
    digit groups a phone pattern would partly match), phones last.
    """
    if not text:
        return text
    text = _API_KEY.sub(MASKS["api_key"], text)
    if "@" in text:
        text = _EMAIL.sub(MASKS["email"], text)
    text = _IBAN.sub(MASKS["iban"], text)
    text = _CARD.sub(_mask_card, text)
    return _PHONE.sub(MASKS["phone"], text)


class RedactionFilter(logging.Filter):
    """Masks personal data in a record's message, arguments and exception text. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_vigie_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template, drop the arguments
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._vigie_redacted = True
        return True


_install_lock = threading.Lock()
_installed_factory: Callable[..., logging.LogRecord] | None = None


def install_log_redaction() -> None:
    """Redact every log record of this process from now on (idempotent, thread-safe).

    Wrapping the record factory rather than adding the filter to today's handlers means handlers
    created later (gunicorn's, RQ's, a test's capture) are covered too.
    """
    global _installed_factory
    with _install_lock:
        if _installed_factory is not None and logging.getLogRecordFactory() is _installed_factory:
            return
        previous = logging.getLogRecordFactory()
        redaction = RedactionFilter()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redaction.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed_factory = factory
        # A handler that fails (closed stream, full disk) would otherwise print the exception being
        # handled, with its chained causes, raw to stderr: those can quote content.
        logging.raiseExceptions = False
