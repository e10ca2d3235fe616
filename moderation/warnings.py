"""Safety warnings for the recipients of suspicious messages, and their telemetry.

Every `warn`/`review`/`hold` verdict on a MESSAGE issues one warning per scam category found (UNIQUE
per submission and category), in the same transaction as the assessment. Wording comes from the
versioned catalogues (`moderation.wording`) and is rendered at read time in the reader's language,
so `?lang=` can override the recipient's locale. Moderator decisions clear them (`not_scam`) or
upgrade them to `danger` (`confirm_scam`).

Professional senders with a valid SIRET get a higher threshold and their own wording: pros routinely
(and legitimately) talk about bank transfers, invoices and phone calls, so a low-confidence `warn`
verdict from a verified pro only shows a warning for the categories that are never legitimate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from moderation import audit
from moderation.errors import NotFound
from moderation.inserts import insert_if_absent, insert_many_if_absent
from moderation.models import Submission, SubmissionRevision
from moderation.recorded_verdict import RecordedVerdict
from moderation.user_models import SafetyWarning, WarningEvent
from moderation.warning_evidence import evidence_for
from moderation.wording import DEFAULT_LANG, Catalogue, first_rendering, load, normalize_lang, sanitize_value
from scoring.extract import luhn_is_valid

if TYPE_CHECKING:
    from moderation.review_models import Decision

SEVERITIES = ("info", "caution", "danger")
WARNED_VERDICTS = frozenset({"warn", "review", "hold"})
EVENTS = ("shown", "dismissed", "clicked_through", "reported")
CONFIRMED_SCAM = "confirmed_scam"

# Severity of a category on its own; the verdict then moves it (see `severity_for`).
BASE_SEVERITY: dict[str, str] = {
    "fake_secure_payment": "danger",
    "fake_delivery": "danger",
    "spoofed_domain": "danger",
    "account_takeover": "danger",
    "advance_fee": "danger",
    "overpayment": "danger",
    "external_payment": "caution",
    "off_platform": "caution",
    "phishing_link": "caution",
    "campaign": "caution",
    "url_shortener": "info",
    CONFIRMED_SCAM: "danger",
}
# A category whose strongest reason weighs less than this is context, not a finding: no warning.
MIN_CATEGORY_WEIGHT = 0.25
# Categories that are never legitimate, whoever the sender: verified pros are warned about at `warn`.
NEVER_LEGITIMATE = frozenset(
    {"fake_secure_payment", "fake_delivery", "spoofed_domain", "account_takeover", CONFIRMED_SCAM}
)


@dataclass(frozen=True)
class SenderProfile:
    """Who sent the message, as far as the warning policy cares."""

    sender_type: str  # "individual" | "pro" (is_pro with a Luhn-valid 14-digit SIRET)

    @classmethod
    def from_payload(cls, sender: Mapping[str, Any] | None) -> SenderProfile:
        sender = sender or {}
        siret = "".join(c for c in str(sender.get("siret") or "") if c.isdigit())
        verified = bool(sender.get("is_pro")) and len(siret) == 14 and luhn_is_valid(siret)
        return cls("pro" if verified else "individual")


def warned_categories(
    verdict: str, categories: Iterable[str], reasons: list[Mapping[str, Any]], profile: SenderProfile
) -> list[str]:
    """The categories that get a warning for this verdict and sender, strongest first.

    Individuals: every category of a warn/review/hold verdict with a real finding. Verified pros:
    the same from `review` up; at `warn`, only NEVER_LEGITIMATE categories.
    """
    if verdict not in WARNED_VERDICTS:
        return []
    strength: dict[str, float] = {}
    for reason in reasons:
        cat = str(reason.get("category"))
        strength[cat] = max(strength.get(cat, 0.0), float(reason.get("weight") or 0.0))
    found = [c for c in dict.fromkeys(categories) if c in BASE_SEVERITY]
    strong = [c for c in found if strength.get(c, 0.0) >= MIN_CATEGORY_WEIGHT]
    if not strong and found:
        # The verdict stands on weak signals together: still warn, about the strongest one.
        strong = [max(found, key=lambda c: strength.get(c, 0.0))]
    if profile.sender_type == "pro" and verdict == "warn":
        strong = [c for c in strong if c in NEVER_LEGITIMATE]
    return sorted(strong, key=lambda c: (-SEVERITIES.index(BASE_SEVERITY[c]), -strength.get(c, 0.0)))


def severity_for(category: str, verdict: str) -> str:
    """Base severity of the category, capped at `caution` for a low-confidence `warn` verdict and
    raised to at least `caution` when the message is held."""
    level = SEVERITIES.index(BASE_SEVERITY.get(category, "caution"))
    if verdict == "warn":
        level = min(level, SEVERITIES.index("caution"))
    elif verdict == "hold":
        level = max(level, SEVERITIES.index("caution"))
    return SEVERITIES[level]


def issue_for_verdict(
    session: Session,
    submission_id: str,
    revision: int,
    verdict: str,
    categories: list[str],
    reasons: list[Mapping[str, Any]],
    now: datetime,
) -> list[SafetyWarning]:
    """Store the warnings an assessment calls for (messages only); returns the active ones. No commit.

    Idempotent: a (submission, category) pair already warned about is left as it is.
    """
    if verdict not in WARNED_VERDICTS:
        return []
    submission = session.get(Submission, submission_id)
    if submission is None or submission.kind != "message":
        return []
    row = session.scalar(
        select(SubmissionRevision).where(
            SubmissionRevision.submission_id == submission_id, SubmissionRevision.revision == revision
        )
    )
    payload = row.payload if row is not None else {}
    profile = SenderProfile.from_payload(payload.get("sender"))
    chosen = warned_categories(verdict, categories, reasons, profile)
    for category in chosen:
        own = [r for r in reasons if r.get("category") == category]
        _insert(
            session,
            submission,
            revision,
            category,
            severity_for(category, verdict),
            recipient_lang(payload),
            profile,
            evidence_for(category, own),
            now,
        )
    return active_for_submission(session, submission_id)


def issue_for_verdicts(
    session: Session, verdicts: Sequence[RecordedVerdict], now: datetime, *, with_active: bool = True
) -> dict[str, list[SafetyWarning]]:
    """Batch form of `issue_for_verdict` for verdicts recorded in this transaction: the same rows,
    in one multi-row INSERT ... ON CONFLICT DO NOTHING, and (when `with_active`) one SELECT of the
    active warnings of the warned messages, by submission id, most severe first. No commit.
    """
    rows: list[dict[str, Any]] = []
    warned: list[str] = []
    for v in verdicts:
        if v.verdict not in WARNED_VERDICTS or v.submission.kind != "message":
            continue
        warned.append(v.submission.id)
        profile = SenderProfile.from_payload(v.payload.get("sender"))
        lang = recipient_lang(v.payload)
        for category in warned_categories(v.verdict, v.categories, v.reasons, profile):
            own = [r for r in v.reasons if r.get("category") == category]
            severity = severity_for(category, v.verdict)
            evidence = evidence_for(category, own)
            rows.append(
                _warning_values(
                    v.submission, v.revision, category, severity, lang, profile, evidence, now, "assessment"
                )
            )
    insert_many_if_absent(session, SafetyWarning, rows, ("submission_id", "category"), ("id",))
    if not with_active or not warned:
        return {}
    active = session.scalars(
        select(SafetyWarning).where(SafetyWarning.submission_id.in_(warned), SafetyWarning.status == "active")
    ).all()
    by_submission: dict[str, list[SafetyWarning]] = {sid: [] for sid in warned}
    for row in active:
        by_submission[row.submission_id].append(row)
    return {sid: _ordered(group) for sid, group in by_submission.items()}


def recipient_lang(payload: Mapping[str, Any]) -> str:
    """The recipient's language: `recipient.locale`, else the message's `lang`, else French."""
    recipient = payload.get("recipient") or {}
    return (
        normalize_lang(recipient.get("locale") if isinstance(recipient, Mapping) else None)
        or normalize_lang(payload.get("lang"))
        or DEFAULT_LANG
    )


def _insert(
    session: Session,
    submission: Submission,
    revision: int,
    category: str,
    severity: str,
    lang: str,
    profile: SenderProfile,
    evidence: dict[str, str],
    now: datetime,
    source: str = "assessment",
) -> bool:
    return insert_if_absent(
        session,
        SafetyWarning,
        _warning_values(submission, revision, category, severity, lang, profile, evidence, now, source),
        ("submission_id", "category"),
    )


def _warning_values(
    submission: Submission,
    revision: int,
    category: str,
    severity: str,
    lang: str,
    profile: SenderProfile,
    evidence: dict[str, str],
    now: datetime,
    source: str,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "submission_id": submission.id,
        "revision": revision,
        "conversation_id": submission.conversation_id,
        "message_id": submission.external_id,
        "recipient_id": submission.recipient_id,
        "category": category,
        "severity": severity,
        "lang": lang,
        "sender_type": profile.sender_type,
        "evidence": evidence,
        "catalogue_version": load(lang).version,
        "status": "active",
        "source": source,
        "created_at": now,
        "updated_at": now,
    }


def active_for_submission(session: Session, submission_id: str) -> list[SafetyWarning]:
    """Active warnings of one message, most severe first."""
    rows = session.scalars(
        select(SafetyWarning).where(
            SafetyWarning.submission_id == submission_id, SafetyWarning.status == "active"
        )
    ).all()
    return _ordered(rows)


def for_conversation(session: Session, conversation_id: str) -> list[SafetyWarning]:
    """Active warnings of a conversation, oldest message first, most severe first within a message."""
    rows = session.scalars(
        select(SafetyWarning)
        .where(SafetyWarning.conversation_id == conversation_id, SafetyWarning.status == "active")
        .order_by(SafetyWarning.created_at, SafetyWarning.id)
    ).all()
    by_message: dict[str, list[SafetyWarning]] = {}
    for row in rows:
        by_message.setdefault(row.submission_id, []).append(row)
    return [w for group in by_message.values() for w in _ordered(group)]


def _ordered(rows: Iterable[SafetyWarning]) -> list[SafetyWarning]:
    return sorted(rows, key=lambda w: (-SEVERITIES.index(w.severity), w.category))


def render(warning: SafetyWarning, lang: str | None = None) -> dict[str, Any]:
    """The warning as the platform shows it, in `lang` (default: the recipient's locale).

    `title` and `body` are plain text; `actions` are [{"type", "label"}] from the catalogue.
    """
    catalogue = load(normalize_lang(lang) or warning.lang)
    entry = catalogue.category(warning.category)
    values = _template_values(catalogue, warning.evidence)
    templates: list[str | None] = [entry.get("body"), entry.get("body_generic")]
    if warning.sender_type == "pro":
        templates.insert(0, entry.get("body_pro"))
    actions = catalogue.section("actions")
    return {
        "id": warning.id,
        "category": warning.category,
        "severity": warning.severity,
        "title": str(entry["title"]),
        "body": first_rendering(templates, values),
        "lang": catalogue.lang,
        "message_id": warning.message_id,
        "conversation_id": warning.conversation_id,
        "actions": [{"type": a, "label": str(actions.get(a, a))} for a in entry.get("actions", [])],
        "catalogue_version": catalogue.version,
        "created_at": warning.created_at.isoformat(),
    }


def _template_values(catalogue: Catalogue, evidence: Mapping[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    if evidence.get("domain"):
        # Sanitised on the way in; again on the way out so a row written by older code is safe too.
        values["domain"] = sanitize_value(evidence["domain"])
    vocabulary = catalogue.section("vocabulary")
    for key in ("channel", "method"):
        word = evidence.get(key)
        if isinstance(word, str) and word in vocabulary:
            values[key] = catalogue.word(word)
    return values


def clear_for_submission(session: Session, submission_id: str, actor: str, now: datetime) -> int:
    """A moderator found the message honest: its warnings stop being shown. Returns how many. No commit."""
    result = session.execute(
        update(SafetyWarning)
        .where(SafetyWarning.submission_id == submission_id, SafetyWarning.status == "active")
        .values(status="cleared", cleared_at=now, updated_at=now)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        audit.record(session, actor, "warnings.cleared", "submission", submission_id, {"count": count})
    return count


def confirm_for_submission(
    session: Session, submission_id: str, categories: list[str], actor: str, now: datetime
) -> list[SafetyWarning]:
    """A moderator confirmed a scam: every warning of the message is (re)activated at `danger`, and a
    message that had none gets one per confirmed category (or a generic one). No commit."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.kind != "message":
        return []
    session.execute(
        update(SafetyWarning)
        .where(SafetyWarning.submission_id == submission_id)
        .values(status="active", severity="danger", cleared_at=None, updated_at=now)
    )
    if not active_for_submission(session, submission_id):
        row = session.scalar(
            select(SubmissionRevision).where(
                SubmissionRevision.submission_id == submission_id,
                SubmissionRevision.revision == submission.current_revision,
            )
        )
        payload = row.payload if row is not None else {}
        profile = SenderProfile.from_payload(payload.get("sender"))
        known = [c for c in categories if c in BASE_SEVERITY] or [CONFIRMED_SCAM]
        for category in known:
            _insert(
                session,
                submission,
                submission.current_revision,
                category,
                "danger",
                recipient_lang(payload),
                profile,
                {},
                now,
                source="decision",
            )
    audit.record(session, actor, "warnings.confirmed", "submission", submission_id, {})
    return active_for_submission(session, submission_id)


def record_event(session: Session, warning_id: str, event: str, now: datetime) -> WarningEvent:
    """Store one telemetry event about a warning. Raises NotFound for an unknown warning,
    ValueError for an event outside EVENTS. No commit."""
    if event not in EVENTS:
        raise ValueError(f"unknown warning event {event!r}")
    warning = session.get(SafetyWarning, warning_id)
    if warning is None:
        raise NotFound("warning", warning_id)
    row = WarningEvent(warning_id=warning_id, category=warning.category, event=event, created_at=now)
    session.add(row)
    session.flush()
    return row


def stats(session: Session) -> dict[str, dict[str, Any]]:
    """Per category: warnings issued, active, and the count of each telemetry event, with the
    click-through rate (clicked_through / shown) when anything was shown."""
    out: dict[str, dict[str, Any]] = {}

    def entry(category: str) -> dict[str, Any]:
        return out.setdefault(category, {"issued": 0, "active": 0, **{e: 0 for e in EVENTS}})

    issued = session.execute(
        select(SafetyWarning.category, SafetyWarning.status, func.count()).group_by(
            SafetyWarning.category, SafetyWarning.status
        )
    )
    for category, status, count in issued:
        entry(category)["issued"] += int(count)
        if status == "active":
            entry(category)["active"] += int(count)
    events = session.execute(
        select(WarningEvent.category, WarningEvent.event, func.count()).group_by(
            WarningEvent.category, WarningEvent.event
        )
    )
    for category, event, count in events:
        entry(category)[event] = int(count)
    for values in out.values():
        shown = values["shown"]
        values["click_through_rate"] = round(values["clicked_through"] / shown, 4) if shown else None
    return dict(sorted(out.items()))


def rendered_for_webhook(warnings: Iterable[SafetyWarning]) -> list[dict[str, Any]]:
    """Warnings as carried by the verdict webhook: rendered in each recipient's own language."""
    return [render(w) for w in warnings]


def on_decision(session: Session, decision: Decision) -> None:
    """Decision listener: `not_scam` clears the message's warnings, `confirm_scam` keeps and
    upgrades them (or issues them); `needs_info` changes nothing."""
    actor = f"moderator:{decision.moderator_id}"
    if decision.decision == "not_scam":
        clear_for_submission(session, decision.submission_id, actor, decision.created_at)
    elif decision.decision == "confirm_scam":
        confirm_for_submission(
            session, decision.submission_id, list(decision.categories or []), actor, decision.created_at
        )


def on_undo(session: Session, decision: Decision) -> None:
    """Undo listener: an undone `not_scam` shows the cleared warnings again; an undone
    `confirm_scam` withdraws the warnings that only the decision had issued."""
    now = decision.undone_at or decision.created_at
    if decision.decision == "not_scam":
        session.execute(
            update(SafetyWarning)
            .where(SafetyWarning.submission_id == decision.submission_id, SafetyWarning.status == "cleared")
            .values(status="active", cleared_at=None, updated_at=now)
        )
    elif decision.decision == "confirm_scam":
        session.execute(
            update(SafetyWarning)
            .where(SafetyWarning.submission_id == decision.submission_id, SafetyWarning.source == "decision")
            .values(status="cleared", cleared_at=now, updated_at=now)
        )
