"""Everything a moderator needs to judge one item, read in one place: the content at the item's
revision, the scorer's reasons, the rest of the conversation, the sender's history, and the spans
of personal data (phones, e-mails, IBANs...) to mask until the moderator reveals them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.decisions import decisions_for
from moderation.models import Assessment, Submission, SubmissionRevision
from moderation.review_models import Decision, ReviewItem
from scoring.extract import extract
from scoring.normalize import normalize

# Entity kinds that identify a person or an account: masked until revealed (and the reveal audited).
PERSONAL_KINDS = frozenset({"email", "phone", "iban", "crypto"})
CONTEXT_LIMIT = 30
HISTORY_LIMIT = 20


@dataclass(frozen=True)
class Span:
    """A highlighted or masked stretch of the original text: [start, end)."""

    start: int
    end: int
    kind: str  # "evidence" or an entity kind (phone, email, iban, crypto)
    label: str = ""  # the reason code or category, for evidence


@dataclass(frozen=True)
class ContextMessage:
    submission_id: str
    external_id: str
    sender_id: str | None
    text: str
    created_at: datetime
    verdict: str | None
    is_subject: bool


@dataclass(frozen=True)
class HistoryEntry:
    submission_id: str
    kind: str
    created_at: datetime
    verdict: str | None
    decision: str | None


@dataclass(frozen=True)
class CaseFile:
    item: ReviewItem
    submission: Submission
    text: str
    title: str | None
    reasons: list[dict[str, Any]]
    evidence: list[Span]
    personal: list[Span]
    conversation: list[ContextMessage] = field(default_factory=list)
    sender_history: list[HistoryEntry] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)


def personal_spans(text: str) -> list[Span]:
    """Spans of personal data in `text` (found by the scorer's own extractor, so they match)."""
    entities = extract(text, normalize(text))
    return sorted(
        (Span(e.span[0], e.span[1], e.kind) for e in entities.all() if e.kind in PERSONAL_KINDS),
        key=lambda s: (s.start, s.end),
    )


def evidence_spans(reasons: list[dict[str, Any]], text: str, fld: str = "text") -> list[Span]:
    """The reasons' valid spans into `text` (field `fld`), sorted; out-of-range spans are dropped."""
    out = []
    for reason in reasons:
        span = reason.get("span")
        if reason.get("field", "text") != fld or not span or len(span) != 2:
            continue
        start, end = int(span[0]), int(span[1])
        if 0 <= start < end <= len(text):
            out.append(Span(start, end, "evidence", str(reason.get("code") or reason.get("category") or "")))
    return sorted(out, key=lambda s: (s.start, s.end))


def build_case_file(session: Session, item: ReviewItem) -> CaseFile:
    """The case file of `item` at its revision. Does not write."""
    submission = session.get(Submission, item.submission_id)
    revision = session.scalar(
        select(SubmissionRevision).where(
            SubmissionRevision.submission_id == item.submission_id,
            SubmissionRevision.revision == item.revision,
        )
    )
    assessment = session.scalar(
        select(Assessment).where(
            Assessment.submission_id == item.submission_id, Assessment.revision == item.revision
        )
    )
    assert submission is not None and revision is not None
    reasons = list(assessment.reasons) if assessment else []
    return CaseFile(
        item=item,
        submission=submission,
        text=revision.text,
        title=revision.title,
        reasons=reasons,
        evidence=evidence_spans(reasons, revision.text),
        personal=personal_spans(revision.text),
        conversation=_conversation(session, submission),
        sender_history=_history(session, submission),
        decisions=decisions_for(session, [submission.id]),
    )


def _latest_texts(session: Session, submissions: list[Submission]) -> dict[str, tuple[str, str | None]]:
    if not submissions:
        return {}
    ids = [s.id for s in submissions]
    rows = session.execute(
        select(SubmissionRevision.submission_id, SubmissionRevision.revision, SubmissionRevision.text).where(
            SubmissionRevision.submission_id.in_(ids)
        )
    ).all()
    verdicts = session.execute(
        select(Assessment.submission_id, Assessment.revision, Assessment.verdict).where(
            Assessment.submission_id.in_(ids)
        )
    ).all()
    current = {s.id: s.current_revision for s in submissions}
    text = {r.submission_id: r.text for r in rows if r.revision == current[r.submission_id]}
    verdict = {v.submission_id: v.verdict for v in verdicts if v.revision == current[v.submission_id]}
    return {sid: (text.get(sid, ""), verdict.get(sid)) for sid in ids}


def _conversation(session: Session, submission: Submission) -> list[ContextMessage]:
    if not submission.conversation_id:
        return []
    others = list(
        session.scalars(
            select(Submission)
            .where(
                Submission.conversation_id == submission.conversation_id, Submission.kind == submission.kind
            )
            .order_by(Submission.created_at, Submission.id)
            .limit(CONTEXT_LIMIT)
        )
    )
    texts = _latest_texts(session, others)
    return [
        ContextMessage(
            submission_id=s.id,
            external_id=s.external_id,
            sender_id=s.sender_id,
            text=texts[s.id][0],
            created_at=s.created_at,
            verdict=texts[s.id][1],
            is_subject=s.id == submission.id,
        )
        for s in others
    ]


def _history(session: Session, submission: Submission) -> list[HistoryEntry]:
    if not submission.sender_id:
        return []
    others = list(
        session.scalars(
            select(Submission)
            .where(Submission.sender_id == submission.sender_id, Submission.id != submission.id)
            .order_by(Submission.created_at.desc())
            .limit(HISTORY_LIMIT)
        )
    )
    texts = _latest_texts(session, others)
    latest_decision: dict[str, str] = {}
    for d in decisions_for(session, [s.id for s in others]):
        if d.undone_at is None:
            latest_decision.setdefault(d.submission_id, d.decision)
    return [
        HistoryEntry(s.id, s.kind, s.created_at, texts[s.id][1], latest_decision.get(s.id)) for s in others
    ]
