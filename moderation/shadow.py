"""Shadow mode: record a candidate's verdicts on live traffic and compare them with the active ones.

The worker (`workers/shadow.py`) scores each batch with the candidate too and hands the pairs to
`record_shadow_results`; nothing here issues warnings, review items, webhooks or audit events, so
a candidate can never act. `shadow_report` answers "what would change if we promoted it?":
agreement, the verdict transition matrix, extra and missed flags, per category, and both sides'
precision and recall where moderators labelled the content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moderation.clock import utcnow
from moderation.inserts import insert_if_absent
from moderation.shadow_models import ShadowAssessment
from moderation.verdict_comparison import VerdictComparison, latest_labels
from scoring.types import ScoreResult

# Rows read per round trip by the report; labels are looked up per page.
_REPORT_PAGE = 1000
CANDIDATE_NAME_MAX = 100


@dataclass(frozen=True)
class ShadowRow:
    """The active and the candidate result for one revision."""

    submission_id: str
    revision: int
    candidate_name: str
    active: ScoreResult
    candidate: ScoreResult


def candidate_name_for(rules_version: str, model_version: str) -> str:
    """The default candidate name: its versions, which is what a report reader needs to know."""
    return f"rules={rules_version};model={model_version}"[:CANDIDATE_NAME_MAX]


def record_shadow_results(session: Session, rows: Sequence[ShadowRow]) -> int:
    """Insert one shadow assessment per row; returns how many were new. Does not commit.

    A row already recorded for (submission, revision, candidate) is left alone (a job that ran
    twice), so recording is idempotent like the active assessments.
    """
    now = utcnow()
    inserted = 0
    for row in rows:
        values: dict[str, Any] = {
            "submission_id": row.submission_id,
            "revision": row.revision,
            "candidate_name": row.candidate_name[:CANDIDATE_NAME_MAX],
            "rules_version": row.candidate.rules_version,
            "model_version": row.candidate.model_version,
            "score": float(row.candidate.score),
            "verdict": row.candidate.verdict.value,
            "categories": [c.value for c in row.candidate.categories],
            "active_verdict": row.active.verdict.value,
            "active_score": float(row.active.score),
            "active_categories": [c.value for c in row.active.categories],
            "created_at": now,
        }
        inserted += insert_if_absent(
            session, ShadowAssessment, values, ("submission_id", "revision", "candidate_name")
        )
    return inserted


@dataclass(frozen=True)
class CandidateSummary:
    name: str
    rows: int
    first_at: datetime
    last_at: datetime


def list_candidates(session: Session) -> list[CandidateSummary]:
    """Every candidate with shadow rows, most recently active first."""
    rows = session.execute(
        select(
            ShadowAssessment.candidate_name,
            func.count(),
            func.min(ShadowAssessment.created_at),
            func.max(ShadowAssessment.created_at),
        ).group_by(ShadowAssessment.candidate_name)
    ).all()
    # min/max come back raw on SQLite (the column type's conversion is skipped for aggregates).
    summaries = [CandidateSummary(name, n, _aware(first), _aware(last)) for name, n, first, last in rows]
    return sorted(summaries, key=lambda s: s.last_at, reverse=True)


@dataclass
class ShadowReport:
    """How a candidate's shadow verdicts compare with the active verdicts on the same revisions."""

    candidate: str | None
    since: datetime | None
    rules_versions: list[str] = field(default_factory=list)
    model_versions: list[str] = field(default_factory=list)
    comparison: VerdictComparison = field(default_factory=VerdictComparison)

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "since": self.since.isoformat() if self.since else None,
            "rules_versions": self.rules_versions,
            "model_versions": self.model_versions,
            **self.comparison.to_dict(),
        }


def shadow_report(
    session: Session, candidate: str | None = None, since: datetime | None = None
) -> ShadowReport:
    """Compare `candidate`'s shadow verdicts (default: the most recently active candidate) with the
    active verdicts recorded beside them, from `since` on (default: all rows)."""
    if candidate is None:
        known = list_candidates(session)
        candidate = known[0].name if known else None
    report = ShadowReport(candidate=candidate, since=since)
    if candidate is None:
        return report
    query = select(ShadowAssessment).where(ShadowAssessment.candidate_name == candidate)
    if since is not None:
        query = query.where(ShadowAssessment.created_at >= since)
    rules: set[str] = set()
    models: set[str] = set()
    last_id = 0
    while True:
        page = session.scalars(
            query.where(ShadowAssessment.id > last_id).order_by(ShadowAssessment.id).limit(_REPORT_PAGE)
        ).all()
        if not page:
            break
        last_id = page[-1].id
        labels = latest_labels(session, [(r.submission_id, r.revision) for r in page])
        for row in page:
            rules.add(row.rules_version)
            models.add(row.model_version)
            report.comparison.add(
                row.active_verdict,
                row.active_categories,
                row.verdict,
                row.categories,
                labels.get((row.submission_id, row.revision)),
            )
    report.rules_versions = sorted(rules)
    report.model_versions = sorted(models)
    return report


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
