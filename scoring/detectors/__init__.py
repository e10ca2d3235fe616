"""Detectors: each turns one field's normalised text and entities into `Reason`s.

- `phrases`: the phrase matcher (one Aho-Corasick pass over every rule-pack lexicon);
- `rules`: intent + object co-occurrence rules from the rule pack (external payment, off-platform
  moves, fake secure payment, fake delivery, advance fee, overpayment, account takeover);
- `links`: links and e-mail addresses judged by the domain analyzer and the URL model (spoofed
  domains, shorteners, phishing shapes, look-alike senders).

`detect_field` runs them all on one field and returns reasons whose spans point into that field's
ORIGINAL text.
"""

from scoring.detectors.context import FieldContext, LinkJudge, build_context, has_prose
from scoring.detectors.links import link_reasons
from scoring.detectors.phrases import PhraseMatcher
from scoring.detectors.rules import asks_about, denied, rule_reasons
from scoring.types import Reason


def detect_field(ctx: FieldContext) -> list[Reason]:
    """All reasons for one field (rules first, then link signals), in a stable order."""
    return rule_reasons(ctx) + link_reasons(ctx)


__all__ = [
    "FieldContext",
    "LinkJudge",
    "PhraseMatcher",
    "asks_about",
    "build_context",
    "denied",
    "detect_field",
    "has_prose",
]
