"""User reports of messages and listings, and the status a reporter can follow.

A report is stored once per (reporter, item): a repeat returns the existing report. It joins the
item's single review entry through `review.open_or_bump_item`, raising its priority by the reporter's
reputation weight (`moderation.reputation`). Content Vigie never saw is created from the report's
excerpt, and content not scored yet is scored before it joins the queue (the API does that through
the workers' scoring path, see `FiledReport.needs_scoring`).

Status, as the reporter sees it: `received` (waiting in the queue), `in_review` (a moderator holds
the item, or asked for more information), `action_taken` / `no_violation` (decided). The first two
are read from the review item at request time; the decided ones are written by the decision listener.
"""

from __future__ import annotations

import itertools
import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from moderation import audit, reputation, review
from moderation.decisions import CONFIRM_SCAM, NOT_SCAM, reason_label
from moderation.errors import ModerationError, NotFound
from moderation.inserts import insert_if_absent
from moderation.models import Submission, SubmissionRevision
from moderation.review_models import Decision, ReviewItem
from moderation.submissions import SubmissionContent, submit
from moderation.user_models import UserReport
from moderation.wording import DEFAULT_LANG, first_rendering, load, normalize_lang, sanitize_value
from scoring.types import Kind

REASONS = (
    "scam",
    "off_platform",
    "fake_payment",
    "fake_delivery",
    "phishing",
    "account_takeover",
    "harassment",
    "spam",
    "prohibited_item",
    "other",
)
RECEIVED, IN_REVIEW, ACTION_TAKEN, NO_VIOLATION = "received", "in_review", "action_taken", "no_violation"
DECIDED_STATUSES = frozenset({ACTION_TAKEN, NO_VIOLATION})
# Expected delay: the median interval between the last DELAY_SAMPLE decisions is the team's pace
# per item; below DELAY_MIN_SAMPLES decisions the documented default pace is used instead.
DELAY_SAMPLE = 50
DELAY_MIN_SAMPLES = 5
DEFAULT_SECONDS_PER_ITEM = 600.0
MAX_TEXT_CHARS = 2000


class UnknownItem(ModerationError):
    """The reported item was never submitted to Vigie and the report carries no excerpt to score."""

    def __init__(self, kind: str, external_id: str) -> None:
        self.kind = kind
        self.external_id = external_id
        super().__init__(f"unknown {kind} {external_id!r}: send an excerpt of the content")


@dataclass(frozen=True)
class ReportRequest:
    """A validated report as the platform sent it."""

    reporter_id: str
    kind: str
    external_id: str
    reason: str
    text: str | None = None
    excerpt: str | None = None
    reporter_locale: str | None = None
    conversation_id: str | None = None


@dataclass(frozen=True)
class FiledReport:
    """Result of `file_report`. `needs_scoring` is the (submission_id, revision) to score before the
    report joins the queue (content never scored), else None."""

    report_id: str
    created: bool
    submission_id: str
    needs_scoring: tuple[str, int] | None


def file_report(session: Session, req: ReportRequest, actor: str, now: datetime) -> FiledReport:
    """Store a report idempotently per (reporter, kind, external_id). Does not commit.

    Unknown content with an excerpt is created as a new submission (queued for scoring); unknown
    content without one raises UnknownItem. A repeat returns the existing report, `created=False`.
    """
    if req.reason not in REASONS:
        raise ValueError(f"unknown report reason {req.reason!r}")
    kind = Kind(req.kind)
    existing = _find(session, req.reporter_id, kind.value, req.external_id)
    if existing is not None:
        return FiledReport(existing.id, False, existing.submission_id or "", None)
    submission = session.scalar(
        select(Submission).where(Submission.kind == kind.value, Submission.external_id == req.external_id)
    )
    if submission is None:
        if not req.excerpt or not req.excerpt.strip():
            raise UnknownItem(kind.value, req.external_id)
        outcome = submit(
            session,
            SubmissionContent(
                kind=kind,
                external_id=req.external_id,
                text=req.excerpt,
                conversation_id=req.conversation_id,
                recipient={"id": req.reporter_id, "locale": normalize_lang(req.reporter_locale)}
                if kind is Kind.MESSAGE
                else None,
                lang=normalize_lang(req.reporter_locale),
            ),
            actor,
        )
        submission_id, revision = outcome.submission_id, outcome.revision
    else:
        submission_id, revision = submission.id, submission.current_revision
    report_id = uuid.uuid4().hex
    inserted = insert_if_absent(
        session,
        UserReport,
        {
            "id": report_id,
            "reporter_id": req.reporter_id,
            "kind": kind.value,
            "external_id": req.external_id,
            "submission_id": submission_id,
            "reason": req.reason,
            "text": (req.text or "")[:MAX_TEXT_CHARS] or None,
            "reporter_locale": normalize_lang(req.reporter_locale) or DEFAULT_LANG,
            "weight": 0.0,
            "status": RECEIVED,
            "outcome_categories": [],
            "created_at": now,
            "updated_at": now,
        },
        ("reporter_id", "kind", "external_id"),
    )
    if not inserted:  # the same reporter, concurrently: theirs won
        raced = _find(session, req.reporter_id, kind.value, req.external_id)
        assert raced is not None
        return FiledReport(raced.id, False, submission_id, None)
    reputation.note_report(session, req.reporter_id, now)
    # No text here: the audit trail outlives content and must not hold what users wrote.
    audit.record(
        session,
        actor,
        "report.created",
        "report",
        report_id,
        {"submission_id": submission_id, "reason": req.reason},
    )
    status = session.scalar(
        select(SubmissionRevision.status).where(
            SubmissionRevision.submission_id == submission_id, SubmissionRevision.revision == revision
        )
    )
    return FiledReport(
        report_id, True, submission_id, (submission_id, revision) if status == "queued" else None
    )


def _find(session: Session, reporter_id: str, kind: str, external_id: str) -> UserReport | None:
    return session.scalar(
        select(UserReport).where(
            UserReport.reporter_id == reporter_id,
            UserReport.kind == kind,
            UserReport.external_id == external_id,
        )
    )


def attach_to_review(session: Session, report_id: str, now: datetime) -> ReviewItem:
    """Put the report on its item's review entry, weighted by the reporter's reputation. No commit.

    Safe to call again: a report already attached is not counted twice.
    """
    report = session.get(UserReport, report_id)
    if report is None or report.submission_id is None:
        raise NotFound("report", report_id)
    if report.review_item_id is not None:
        return review.get_item(session, report.review_item_id)
    submission = session.get(Submission, report.submission_id)
    if submission is None:
        raise NotFound("submission", report.submission_id)
    weight = reputation.reporter_weight(session, report.reporter_id, now)
    item = review.open_or_bump_item(
        session, submission.id, submission.current_revision, "report", weight.weight, now
    )
    report.weight = weight.weight
    report.review_item_id = item.id
    report.updated_at = now
    if item.status == review.DECIDED and item.last_decision_id is not None:
        # A report on content already decided takes that decision's outcome at once.
        decision = session.get(Decision, item.last_decision_id)
        if decision is not None and decision.undone_at is None and decision.decision in _OUTCOMES:
            _settle(session, report, decision)
    if weight.flagged or weight.recent_reports > reputation.BURST_FREE:
        audit.record(
            session,
            audit.SYSTEM_ACTOR,
            "report.down_weighted",
            "report",
            report.id,
            {"weight": round(weight.weight, 4), "recent": weight.recent_reports, "flagged": weight.flagged},
        )
    session.flush()
    return item


def on_decision(session: Session, decision: Decision) -> None:
    """Decision listener: settle every report on the decided submission and the reporters' reputation.

    `confirm_scam` -> action_taken (confirmed for the reporters), `not_scam` -> no_violation
    (rejected), other decisions (needs_info) leave the reports in review. An undone decision is
    ignored here; the re-decision that follows replaces the outcome and its reputation count.
    """
    if decision.decision not in _OUTCOMES or decision.undone_at is not None:
        return
    reports = session.scalars(
        select(UserReport).where(UserReport.submission_id == decision.submission_id)
    ).all()
    for report in reports:
        _settle(session, report, decision)
    session.flush()


_OUTCOMES = {CONFIRM_SCAM: ACTION_TAKEN, NOT_SCAM: NO_VIOLATION}


def on_undo(session: Session, decision: Decision) -> None:
    """Undo listener: reports settled by the undone decision go back to review, and the reporters'
    reputation no longer counts that outcome (the next decision will count its own)."""
    if decision.decision not in _OUTCOMES:
        return
    reports = session.scalars(
        select(UserReport).where(
            UserReport.submission_id == decision.submission_id,
            UserReport.status == _OUTCOMES[decision.decision],
        )
    ).all()
    now = decision.undone_at or decision.created_at
    for report in reports:
        reputation.take_back_outcome(session, report.reporter_id, report.status == ACTION_TAKEN, now)
        report.status = IN_REVIEW
        report.outcome_reason = None
        report.outcome_categories = []
        report.decided_at = None
        report.updated_at = now
    session.flush()


def _settle(session: Session, report: UserReport, decision: Decision) -> None:
    outcome = _OUTCOMES[decision.decision]
    previous = {ACTION_TAKEN: True, NO_VIOLATION: False}.get(report.status)
    reputation.record_outcome(
        session, report.reporter_id, outcome == ACTION_TAKEN, previous, decision.created_at
    )
    report.status = outcome
    report.outcome_reason = decision.reason
    report.outcome_categories = list(decision.categories or [])
    report.decided_at = decision.created_at
    report.updated_at = decision.created_at


@dataclass(frozen=True)
class ReportStatus:
    """What a reporter may know about their report."""

    id: str
    status: str
    kind: str
    external_id: str
    reason: str
    lang: str
    statement: str
    created_at: datetime
    decided_at: datetime | None
    queue_position: int | None
    expected_delay_s: float | None
    delay_basis: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "kind": self.kind,
            "external_id": self.external_id,
            "reason": self.reason,
            "lang": self.lang,
            "statement": self.statement,
            "created_at": self.created_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "queue_position": self.queue_position,
            "expected_delay_s": self.expected_delay_s,
            "expected_delay_basis": self.delay_basis,
        }


def report_status(session: Session, report_id: str, now: datetime, lang: str | None = None) -> ReportStatus:
    """The report's status, the expected delay while it waits, and a statement in the reporter's
    language (or `lang`). Raises NotFound."""
    report = session.get(UserReport, report_id)
    if report is None:
        raise NotFound("report", report_id)
    item = session.get(ReviewItem, report.review_item_id) if report.review_item_id else None
    status = _current_status(report, item, now)
    position: int | None = None
    delay: float | None = None
    basis: str | None = None
    if status not in DECIDED_STATUSES and item is not None and item.status == review.OPEN:
        position = 0 if status == IN_REVIEW else _queue_position(session, item)
        per_item, basis = _seconds_per_item(session)
        delay = round((position + 1) * per_item, 1)
    catalogue = load(normalize_lang(lang) or report.reporter_locale)
    return ReportStatus(
        id=report.id,
        status=status,
        kind=report.kind,
        external_id=report.external_id,
        reason=report.reason,
        lang=catalogue.lang,
        statement=_statement(catalogue.lang, status, report.outcome_reason),
        created_at=report.created_at,
        decided_at=report.decided_at if status in DECIDED_STATUSES else None,
        queue_position=position,
        expected_delay_s=delay,
        delay_basis=basis,
    )


def _current_status(report: UserReport, item: ReviewItem | None, now: datetime) -> str:
    if item is None:
        return report.status
    if item.status == review.DECIDED:
        # Decided but the listener has not settled this report (it joined after the decision).
        return report.status if report.status in DECIDED_STATUSES else IN_REVIEW
    if item.status == review.NEEDS_INFO or review.holder(item, now) is not None:
        return IN_REVIEW
    return RECEIVED


def _queue_position(session: Session, item: ReviewItem) -> int:
    """How many open items of the same queue a moderator will take before this one."""
    ahead = session.scalar(
        select(func.count())
        .select_from(ReviewItem)
        .where(
            ReviewItem.status == review.OPEN,
            ReviewItem.queue == item.queue,
            or_(
                ReviewItem.sort_key > item.sort_key,
                (ReviewItem.sort_key == item.sort_key) & (ReviewItem.id > item.id),
            ),
        )
    )
    return int(ahead or 0)


def _seconds_per_item(session: Session) -> tuple[float, str]:
    times = list(
        session.scalars(
            select(Decision.created_at)
            .where(Decision.undone_at.is_(None))
            .order_by(Decision.created_at.desc())
            .limit(DELAY_SAMPLE)
        )
    )
    gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(times)]
    if len(gaps) + 1 < DELAY_MIN_SAMPLES:
        return DEFAULT_SECONDS_PER_ITEM, "default pace (too few recent decisions) × (queue position + 1)"
    pace = max(1.0, statistics.median(gaps))
    return pace, f"median interval between the last {len(times)} decisions × (queue position + 1)"


def _statement(lang: str, status: str, decision_reason: str | None) -> str:
    catalogue = load(lang)
    texts = catalogue.section("report_status")
    values: dict[str, str] = {}
    decision = {ACTION_TAKEN: CONFIRM_SCAM, NO_VIOLATION: NOT_SCAM}.get(status)
    if decision and decision_reason:
        # The moderator's reason in plain words, from the decisions module's own (fr, en) wording.
        values["reason"] = sanitize_value(reason_label(decision, decision_reason, lang), limit=120)
    return first_rendering([texts.get(status), texts.get(f"{status}_generic")], values)
