"""Labels for training: what moderators decided, read back with the labelled text.

A moderator's `confirm_scam` / `not_scam` decision writes a `Label` (moderation.decisions); undoing
it sets `retracted_at`. A user report is "confirmed" when a moderator decides its item is a scam:
that decision's label is the report's label, exported with `source = "report_confirmed"` so the
training data says where it came from (reports carry no separate label row, which would count the
same decision twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.models import Submission, SubmissionRevision
from moderation.review_models import Label
from moderation.user_models import UserReport

MODERATOR = "moderator"
REPORT_CONFIRMED = "report_confirmed"
# The status moderation.reports gives a report whose item a moderator confirmed as a scam.
_REPORT_ACTION_TAKEN = "action_taken"


@dataclass(frozen=True, slots=True)
class LabelledContent:
    """The current label of one revision, with its text and who decided it when."""

    submission_id: str
    revision: int
    kind: str
    text: str
    title: str | None
    label: str  # scam | not_scam
    conversation_id: str | None
    moderator_id: str
    at: datetime
    source: str  # moderator | report_confirmed

    @property
    def group(self) -> str:
        """The split group: the conversation, else the submission (one script stays on one side)."""
        return self.conversation_id or self.submission_id


def export_labels(session: Session) -> list[LabelledContent]:
    """The latest non-retracted label of every (submission, revision), oldest first.

    Revisions whose text was purged (retention) are skipped: there is nothing left to learn from.
    """
    rows = session.execute(
        select(
            Label,
            SubmissionRevision.text,
            SubmissionRevision.title,
            Submission.kind,
            Submission.conversation_id,
        )
        .join(
            SubmissionRevision,
            (SubmissionRevision.submission_id == Label.submission_id)
            & (SubmissionRevision.revision == Label.revision),
        )
        .join(Submission, Submission.id == Label.submission_id)
        .where(Label.retracted_at.is_(None))
        .order_by(Label.at, Label.id)
    ).all()
    latest: dict[tuple[str, int], Any] = {}
    for row in rows:
        # Ordered oldest first: a later label of the same revision (a re-decision) replaces it.
        latest[(row.Label.submission_id, row.Label.revision)] = row
    confirmed = _confirmed_report_submissions(session, [key[0] for key in latest])
    out = []
    for row in latest.values():
        label: Label = row.Label
        if not row.text:
            continue
        source = REPORT_CONFIRMED if label.label == "scam" and label.submission_id in confirmed else MODERATOR
        out.append(
            LabelledContent(
                submission_id=label.submission_id,
                revision=label.revision,
                kind=row.kind,
                text=row.text,
                title=row.title,
                label=label.label,
                conversation_id=row.conversation_id,
                moderator_id=label.moderator_id,
                at=label.at,
                source=source,
            )
        )
    out.sort(key=lambda item: (item.at, item.submission_id, item.revision))
    return out


def _confirmed_report_submissions(session: Session, submission_ids: list[str]) -> set[str]:
    confirmed: set[str] = set()
    # Chunked: an IN list of tens of thousands of ids is slow to plan and hits SQLite's variable cap.
    for start in range(0, len(submission_ids), 500):
        chunk = submission_ids[start : start + 500]
        for sid in session.scalars(
            select(UserReport.submission_id).where(
                UserReport.submission_id.in_(chunk), UserReport.status == _REPORT_ACTION_TAKEN
            )
        ):
            if sid is not None:
                confirmed.add(sid)
    return confirmed


def label_summary(labels: list[LabelledContent]) -> dict[str, Any]:
    """Counts per label and source, and the time range, for a model's `trained_on` record."""
    counts: dict[str, int] = {}
    for item in labels:
        counts[f"{item.source}:{item.label}"] = counts.get(f"{item.source}:{item.label}", 0) + 1
    return {
        "labels": len(labels),
        "by_source": dict(sorted(counts.items())),
        "first_label_at": labels[0].at.isoformat() if labels else None,
        "last_label_at": labels[-1].at.isoformat() if labels else None,
    }
