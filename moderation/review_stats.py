"""Figures for the console's statistics page, computed from the review tables.

- queue size over time: open items at regular instants (an item counts from its creation until
  its decision);
- decisions per category (undone decisions excluded);
- per-rule precision: for each scorer reason code, the share of moderator labels that said "scam"
  on the content it fired on (retracted labels excluded) — the rule pack's feedback loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from moderation.models import Assessment
from moderation.review_models import Decision, Label, ReviewItem

MAX_LABELS = 20_000


@dataclass(frozen=True)
class RulePrecision:
    code: str
    scam: int
    not_scam: int

    @property
    def labelled(self) -> int:
        return self.scam + self.not_scam

    @property
    def precision(self) -> float:
        return self.scam / self.labelled if self.labelled else 0.0


def queue_size_series(
    session: Session, now: datetime, span: timedelta = timedelta(days=7), points: int = 28
) -> list[tuple[datetime, int]]:
    """(instant, open items at that instant) for `points` instants evenly spread over `span`."""
    start = now - span
    rows = session.execute(
        select(ReviewItem.created_at, ReviewItem.decided_at).where(
            (ReviewItem.decided_at.is_(None)) | (ReviewItem.decided_at > start)
        )
    ).all()
    step = span / max(1, points - 1)
    instants = [start + step * i for i in range(points)]
    return [
        (t, sum(1 for r in rows if r.created_at <= t and (r.decided_at is None or r.decided_at > t)))
        for t in instants
    ]


def decisions_per_category(session: Session) -> dict[str, dict[str, int]]:
    """{category: {decision: count}} over decisions that were not undone, busiest category first."""
    out: dict[str, dict[str, int]] = {}
    for categories, decision in session.execute(
        select(Decision.categories, Decision.decision).where(Decision.undone_at.is_(None))
    ):
        for category in categories or ["uncategorised"]:
            counts = out.setdefault(category, {})
            counts[decision] = counts.get(decision, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -sum(kv[1].values())))


def rule_precision(session: Session, min_labels: int = 1) -> list[RulePrecision]:
    """Precision of every reason code over the labelled content it fired on, least precise first."""
    labels = session.execute(
        select(Label.submission_id, Label.revision, Label.label)
        .where(Label.retracted_at.is_(None))
        .order_by(Label.id.desc())
        .limit(MAX_LABELS)
    ).all()
    # The latest label of a revision wins (a decision after an undo or an appeal replaces the first).
    latest: dict[tuple[str, int], str] = {}
    for sid, rev, label in labels:
        latest.setdefault((sid, rev), label)
    if not latest:
        return []
    counts: dict[str, list[int]] = {}
    keys = list(latest)
    for chunk_start in range(0, len(keys), 500):
        chunk = keys[chunk_start : chunk_start + 500]
        for sid, rev, reasons in session.execute(
            select(Assessment.submission_id, Assessment.revision, Assessment.reasons).where(
                tuple_(Assessment.submission_id, Assessment.revision).in_(chunk)
            )
        ):
            is_scam = latest[(sid, rev)] == "scam"
            for code in {str(r.get("code")) for r in reasons or [] if r.get("code")}:
                pair = counts.setdefault(code, [0, 0])
                pair[0 if is_scam else 1] += 1
    rows = [RulePrecision(code, s, n) for code, (s, n) in counts.items() if s + n >= min_labels]
    return sorted(rows, key=lambda r: (r.precision, -r.labelled, r.code))
