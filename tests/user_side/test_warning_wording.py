"""Warning wording: catalogues are complete and consistent, evidence cannot break or inject into a
template, and professional senders get their own thresholds and wording."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from moderation import warnings as safety_warnings
from moderation.assessments import record_assessment
from moderation.submissions import SubmissionContent, submit
from moderation.user_models import SafetyWarning
from moderation.warning_evidence import evidence_for
from moderation.wording import LANGS, MAX_VALUE_CHARS, load, placeholders, render, sanitize_value
from scoring.types import Category, Kind, Reason, ScoreResult, Verdict

HOSTILE = (
    "{{7*7}}",
    "${x}",
    "$domain",
    "<script>alert(1)</script>",
    "{0.__class__}",
    "%(domain)s",
    "{% raw %}",
)
KNOWN_PLACEHOLDERS = {"domain", "channel", "method", "reason"}
# A U+202E right-to-left override, a zero-width joiner, a newline, an escape and a NUL.
CONTROL = "evil\u202egnp.exe\u200d\nnext line\x1b[31m\x00"


# --- catalogues ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_covers_every_category_with_known_placeholders(lang: str) -> None:
    catalogue = load(lang)
    assert catalogue.lang == lang and catalogue.version
    for category in [*(c.value for c in Category), safety_warnings.CONFIRMED_SCAM]:
        entry = catalogue.category(category)
        assert entry["title"] and entry["body_generic"]
        assert placeholders(entry["body_generic"]) == set(), "the fallback must need no evidence"
        for key in ("body", "body_pro"):
            if key in entry:
                assert placeholders(entry[key]) <= KNOWN_PLACEHOLDERS
        assert set(entry["actions"]) <= set(catalogue.section("actions"))
        assert "report" in entry["actions"]
    for text in catalogue.section("report_status").values():
        assert placeholders(text) <= KNOWN_PLACEHOLDERS


def test_catalogues_have_the_same_keys_and_version() -> None:
    fr, en = load("fr"), load("en")
    assert fr.version == en.version
    for section in ("categories", "actions", "vocabulary", "category_labels", "report_status"):
        assert fr.section(section).keys() == en.section(section).keys(), section
    for name, entry in fr.section("categories").items():
        assert entry.keys() == en.category(name).keys(), name


# --- safe substitution ------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_evidence_with_template_syntax_or_markup_is_inserted_literally(hostile: str) -> None:
    template = load("fr").category("fake_secure_payment")["body"]
    value = sanitize_value(f"pay-{hostile}.example")
    out = render(template, {"domain": value})
    assert out is not None
    before, _, after = template.partition("$domain")
    # The template's own text is intact around exactly one literal copy of the value.
    assert out == before + value + after
    assert "49" not in out and "<class" not in out and "${x}" not in before + after


def test_sanitize_strips_control_and_format_characters_and_truncates() -> None:
    cleaned = sanitize_value(CONTROL)
    assert cleaned == "evilgnp.exe next line[31m"
    assert all(ord(c) >= 0x20 for c in cleaned)
    long = sanitize_value("a" * 500)
    assert len(long) == MAX_VALUE_CHARS and long.endswith("…")


def test_channel_and_method_come_from_a_fixed_vocabulary_never_from_the_text() -> None:
    reasons = [
        {"code": "contact.messaging_app", "category": "off_platform", "weight": 0.7,
         "evidence": "écris sur whatsapp <b>${x}</b> {{7*7}}"},
    ]  # fmt: skip
    assert evidence_for("off_platform", reasons) == {"channel": "whatsapp"}


@pytest.fixture
def store(session_factory: sessionmaker[Session]) -> Callable[..., str]:
    """Store a message with an assessment built from `reasons`; returns the submission id."""
    counter = iter(range(1, 10_000))

    def make(
        reasons: list[Reason],
        verdict: str = "review",
        sender: dict[str, Any] | None = None,
        locale: str = "fr",
    ) -> str:
        with session_factory() as session:
            outcome = submit(
                session,
                SubmissionContent(
                    kind=Kind.MESSAGE,
                    external_id=f"m-{next(counter)}",
                    text="texte",
                    conversation_id="conv-x",
                    sender=sender,
                    recipient={"id": "buyer", "locale": locale},
                ),
                actor="test",
            )
            categories = tuple(dict.fromkeys(r.category for r in reasons))
            result = ScoreResult(
                outcome.submission_id, 0.9, Verdict(verdict), categories, tuple(reasons), "m", "r"
            )
            record_assessment(session, outcome.submission_id, 1, result, 1.0, emit_webhook=False)
            session.commit()
        return outcome.submission_id

    return make


def rendered(
    session_factory: sessionmaker[Session], submission_id: str, lang: str | None = None
) -> list[dict]:
    with session_factory() as session:
        return [
            safety_warnings.render(w, lang)
            for w in safety_warnings.active_for_submission(session, submission_id)
        ]


def test_hostile_host_in_a_stored_warning_cannot_break_the_rendered_text(
    store: Callable[..., str], session_factory: sessionmaker[Session]
) -> None:
    host = "{{7*7}}${x}<script>alert(1)</script>{0.__class__}\u202e.example.com\n"
    reason = Reason("url.spoofed_domain", Category.SPOOFED_DOMAIN, 0.9, host, (0, 5), detail={"host": host})
    submission_id = store([reason])
    with session_factory() as session:
        [row] = session.query(SafetyWarning).filter_by(submission_id=submission_id).all()
        stored = row.evidence["domain"]
    assert "\u202e" not in stored and "\n" not in stored and len(stored) <= MAX_VALUE_CHARS
    for lang in LANGS:
        [warning] = rendered(session_factory, submission_id, lang)
        template = load(lang).category("spoofed_domain")["body"]
        before, _, after = template.partition("$domain")
        assert warning["body"] == before + stored + after
        assert "49" not in warning["body"] and "<class" not in warning["body"]
        assert warning["title"] == load(lang).category("spoofed_domain")["title"]


# --- professional senders ----------------------------------------------------------------------------

VALID_SIRET = "73282932000074"  # Luhn-valid
OFF_PLATFORM = Reason("contact.messaging_app", Category.OFF_PLATFORM, 0.6, "sur whatsapp", (0, 12))
PAYMENT = Reason("payment.bank_transfer", Category.EXTERNAL_PAYMENT, 0.6, "par virement", (13, 25))
CODE = Reason("ato.code_request", Category.ACCOUNT_TAKEOVER, 0.8, "envoyez le code", (26, 40))


@pytest.mark.parametrize(
    ("sender", "verdict", "expected"),
    [
        (None, "warn", {"off_platform", "account_takeover"}),
        ({"is_pro": True, "siret": VALID_SIRET}, "warn", {"account_takeover"}),
        ({"is_pro": True, "siret": "73282932000075"}, "warn", {"off_platform", "account_takeover"}),
        ({"is_pro": True, "siret": VALID_SIRET}, "review", {"off_platform", "account_takeover"}),
        (None, "allow", set()),
    ],
)
def test_verified_pros_have_a_higher_threshold_for_categories_pros_use_legitimately(
    store: Callable[..., str],
    session_factory: sessionmaker[Session],
    sender: dict[str, Any] | None,
    verdict: str,
    expected: set[str],
) -> None:
    submission_id = store([OFF_PLATFORM, CODE], verdict=verdict, sender=sender)
    assert {w["category"] for w in rendered(session_factory, submission_id)} == expected


def test_verified_pros_get_their_own_wording(
    store: Callable[..., str], session_factory: sessionmaker[Session]
) -> None:
    pro = store([PAYMENT], sender={"is_pro": True, "siret": VALID_SIRET})
    individual = store([PAYMENT], sender={"is_pro": False})
    [pro_warning] = rendered(session_factory, pro)
    [individual_warning] = rendered(session_factory, individual)
    assert pro_warning["body"].startswith("Ce vendeur professionnel")
    assert "virement bancaire" in pro_warning["body"] and "SIRET" in pro_warning["body"]
    assert not individual_warning["body"].startswith("Ce vendeur professionnel")
    assert "virement bancaire" in individual_warning["body"]


def test_severity_follows_category_and_verdict() -> None:
    assert safety_warnings.severity_for("fake_secure_payment", "review") == "danger"
    assert safety_warnings.severity_for("fake_secure_payment", "warn") == "caution"
    assert safety_warnings.severity_for("url_shortener", "review") == "info"
    assert safety_warnings.severity_for("url_shortener", "hold") == "caution"


def test_every_rendered_text_is_plain_single_paragraph_text() -> None:
    for lang in LANGS:
        catalogue = load(lang)
        for entry in catalogue.section("categories").values():
            for key in ("title", "body", "body_generic", "body_pro"):
                if key in entry:
                    assert not re.search(r"[<>\n]", entry[key]), (lang, key)
