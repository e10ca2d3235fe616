"""Retention: erase the personal data of old content, keep what moderation and training need.

After `settings.retention_days` (default 30) a message or listing has done its job: its verdict
was acted on. What stays forever is what is not personal and still useful: verdicts, scores,
reasons' codes, categories, weights and spans, labels and decisions, audit rows, ids. What goes:
the text and title, the stored request payload (sender e-mail, SIRET, free text), the matched
evidence quoted in reasons, in webhook payloads and in safety warnings, and the free text of user
reports and moderators' notes about that content.

Purging is idempotent (a purged revision has empty text and a `purged_at` marker in its payload),
runs in bounded batches with one commit each (it never holds a long write lock), and skips
revisions still waiting for a verdict.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from moderation import audit
from moderation.clock import utcnow
from moderation.models import Assessment, SubmissionRevision, WebhookEvent
from moderation.review_models import Decision, ReviewItem
from moderation.user_models import SafetyWarning, UserReport

PURGED = "[purged]"
# Payload fields that carry no personal data and help later analysis (price bands, categories).
KEPT_PAYLOAD_FIELDS = ("kind", "external_id", "conversation_id", "price", "category", "lang")
KEPT_SENDER_FIELDS = ("id", "account_age_days", "is_pro")
BATCH = 500


@dataclass
class PurgeReport:
    """How many rows of each kind had personal data erased by one `purge_older_than` call."""

    cutoff: datetime
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    @property
    def revisions(self) -> int:
        return self.counts.get("revisions", 0)


def parse_age(value: str) -> timedelta:
    """'30d', '12h', '45m', '90s' (or a bare number of days) as a timedelta; ValueError otherwise."""
    value = value.strip().lower()
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    unit = units.get(value[-1:]) if value else None
    number = value[:-1] if unit else value
    if not number or not number.replace(".", "", 1).isdigit():
        raise ValueError(f"not an age: {value!r} (use e.g. 30d, 12h)")
    return timedelta(**{unit or "days": float(number)})


def redact_reasons(reasons: list[Any]) -> list[Any]:
    """Reasons with their quoted evidence (and detail values quoting content) replaced; codes,
    categories, weights, fields and spans kept."""
    out = []
    for reason in reasons:
        if not isinstance(reason, dict):
            continue
        kept = {k: v for k, v in reason.items() if k not in {"evidence", "detail"}}
        kept["evidence"] = PURGED
        out.append(kept)
    return out


def purge_older_than(session: Session, age: timedelta, now: datetime | None = None) -> PurgeReport:
    """Erase personal data of every revision created before `now - age` (see the module doc).

    Commits after each batch; returns counts per kind of row. Safe to re-run and to interrupt.
    """
    now = now or utcnow()
    report = PurgeReport(cutoff=now - age)
    while True:
        rows = session.execute(
            select(SubmissionRevision.id, SubmissionRevision.submission_id, SubmissionRevision.payload)
            .where(
                SubmissionRevision.created_at < report.cutoff,
                SubmissionRevision.status != "queued",
                SubmissionRevision.text != "",
            )
            .order_by(SubmissionRevision.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            session.execute(
                update(SubmissionRevision)
                .where(SubmissionRevision.id == row.id)
                .values(text="", title=None, payload=_purged_payload(row.payload, now))
            )
        submission_ids = sorted({row.submission_id for row in rows})
        report.add("revisions", len(rows))
        _purge_derived(session, submission_ids, report)
        session.commit()
    if report.counts:
        audit.record(
            session,
            audit.SYSTEM_ACTOR,
            "retention.purged",
            "retention",
            report.cutoff.isoformat(),
            dict(report.counts),
        )
        session.commit()
    return report


def _purged_payload(payload: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    payload = payload or {}
    kept: dict[str, Any] = {k: payload[k] for k in KEPT_PAYLOAD_FIELDS if k in payload}
    sender = payload.get("sender")
    if isinstance(sender, dict):
        kept["sender"] = {k: sender[k] for k in KEPT_SENDER_FIELDS if k in sender}
    recipient = payload.get("recipient")
    if isinstance(recipient, dict) and "id" in recipient:
        kept["recipient"] = {"id": recipient["id"]}
    kept["purged_at"] = now.isoformat()
    return kept


def _purge_derived(session: Session, submission_ids: list[str], report: PurgeReport) -> None:
    """Evidence and free text about these submissions, wherever it was copied."""
    for assessment in session.scalars(select(Assessment).where(Assessment.submission_id.in_(submission_ids))):
        assessment.reasons = redact_reasons(list(assessment.reasons))
        report.add("assessments", 1)
    for event in session.scalars(select(WebhookEvent).where(WebhookEvent.subject_id.in_(submission_ids))):
        payload = copy.deepcopy(event.payload)
        data = payload.get("data")
        if isinstance(data, dict):
            if isinstance(data.get("reasons"), list):
                data["reasons"] = redact_reasons(data["reasons"])
            if "warnings" in data:
                data["warnings"] = PURGED
        event.payload = payload
        report.add("webhook_events", 1)
    for warning in session.scalars(
        select(SafetyWarning).where(SafetyWarning.submission_id.in_(submission_ids))
    ):
        warning.evidence = {"purged": True}
        report.add("safety_warnings", 1)
    result = session.execute(
        update(UserReport)
        .where(UserReport.submission_id.in_(submission_ids), UserReport.text.is_not(None))
        .values(text=None)
    )
    report.add("user_reports", int(getattr(result, "rowcount", 0) or 0))
    result = session.execute(
        update(ReviewItem)
        .where(ReviewItem.submission_id.in_(submission_ids))
        .values(appeal_text=None, escalation_note=None)
    )
    report.add("review_items", int(getattr(result, "rowcount", 0) or 0))
    result = session.execute(
        update(Decision)
        .where(Decision.submission_id.in_(submission_ids), Decision.note.is_not(None))
        .values(note=None)
    )
    report.add("decisions", int(getattr(result, "rowcount", 0) or 0))
    session.flush()
