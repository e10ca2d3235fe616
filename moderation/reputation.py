"""Reporter reputation: how much one user's report raises an item's review priority.

Weight = 2 × (confirmed + 1) / (decided + 2): a Laplace-smoothed confirmation rate scaled so that a
new reporter weighs 1.0, a reliable one approaches 2.0 and an unreliable one approaches 0. Then
mass false reporting is damped:

- bursts: beyond BURST_FREE reports in BURST_WINDOW, each report's weight is scaled by
  BURST_FREE / reports-in-window (50 reports in an hour weigh about 0.1 each);
- proven false reporters (at least FLAG_MIN_DECIDED decided reports, confirmation rate below
  FLAG_MAX_RATE) get the minimum weight.

Weights are bounded to [WEIGHT_MIN, WEIGHT_MAX] whatever happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from moderation.inserts import insert_if_absent
from moderation.user_models import ReporterReputation, UserReport

WEIGHT_MIN = 0.05
WEIGHT_MAX = 2.0
BURST_WINDOW = timedelta(hours=1)
BURST_FREE = 5
FLAG_MIN_DECIDED = 5
FLAG_MAX_RATE = 0.2


@dataclass(frozen=True)
class ReporterWeight:
    """A reporter's current weight and the figures it was computed from."""

    weight: float
    confirmed: int
    rejected: int
    recent_reports: int
    flagged: bool

    @property
    def confirm_rate(self) -> float | None:
        decided = self.confirmed + self.rejected
        return self.confirmed / decided if decided else None


def compute_weight(confirmed: int, rejected: int, recent_reports: int) -> tuple[float, bool]:
    """(weight, flagged) for a reporter with this history and this many reports in the burst window
    (counting the one being weighed). Pure; see the module docstring for the formula."""
    decided = confirmed + rejected
    flagged = decided >= FLAG_MIN_DECIDED and confirmed / decided < FLAG_MAX_RATE
    if flagged:
        return WEIGHT_MIN, True
    weight = 2.0 * (confirmed + 1) / (decided + 2)
    if recent_reports > BURST_FREE:
        weight *= BURST_FREE / recent_reports
    return min(WEIGHT_MAX, max(WEIGHT_MIN, weight)), False


def reporter_weight(session: Session, reporter_id: str, now: datetime) -> ReporterWeight:
    """The weight the next (or just filed) report of `reporter_id` carries at `now`."""
    row = session.get(ReporterReputation, reporter_id)
    confirmed = row.confirmed if row is not None else 0
    rejected = row.rejected if row is not None else 0
    recent = int(
        session.scalar(
            select(func.count())
            .select_from(UserReport)
            .where(UserReport.reporter_id == reporter_id, UserReport.created_at > now - BURST_WINDOW)
        )
        or 0
    )
    weight, flagged = compute_weight(confirmed, rejected, recent)
    return ReporterWeight(weight, confirmed, rejected, recent, flagged)


def _ensure_row(session: Session, reporter_id: str, now: datetime) -> None:
    insert_if_absent(
        session,
        ReporterReputation,
        {"reporter_id": reporter_id, "reports": 0, "confirmed": 0, "rejected": 0, "updated_at": now},
        ("reporter_id",),
    )


def note_report(session: Session, reporter_id: str, now: datetime) -> None:
    """Count a new report. Atomic increment, safe under concurrent reports. No commit."""
    _ensure_row(session, reporter_id, now)
    session.execute(
        update(ReporterReputation)
        .where(ReporterReputation.reporter_id == reporter_id)
        .values(reports=ReporterReputation.reports + 1, updated_at=now)
    )


def record_outcome(
    session: Session, reporter_id: str, confirmed: bool, previous: bool | None, now: datetime
) -> None:
    """A moderator decided an item this reporter reported. `previous` is the outcome already counted
    for that report (a re-decision after undo or appeal), which is taken back first. No commit."""
    _ensure_row(session, reporter_id, now)
    delta_confirmed = int(confirmed) - int(previous is True)
    delta_rejected = int(not confirmed) - int(previous is False)
    if delta_confirmed == 0 and delta_rejected == 0:
        return
    session.execute(
        update(ReporterReputation)
        .where(ReporterReputation.reporter_id == reporter_id)
        .values(
            confirmed=ReporterReputation.confirmed + delta_confirmed,
            rejected=ReporterReputation.rejected + delta_rejected,
            updated_at=now,
        )
    )


def take_back_outcome(session: Session, reporter_id: str, confirmed: bool, now: datetime) -> None:
    """Stop counting an outcome recorded earlier (its decision was undone). No commit."""
    column = ReporterReputation.confirmed if confirmed else ReporterReputation.rejected
    session.execute(
        update(ReporterReputation)
        .where(ReporterReputation.reporter_id == reporter_id, column > 0)
        .values({column: column - 1, ReporterReputation.updated_at: now})
    )
