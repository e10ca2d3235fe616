"""Backtests: rescore stored submissions with a candidate and report how verdicts would change.

The latest revision of each submission is scored twice, by the active scorer re-run today and by
the candidate, so the comparison isolates the candidate's change: stored assessments may come
from older rule packs or models, and comparing against them would mix in every change since.
That older drift is reported apart (stored verdict vs the active re-run). Both sides score on
content alone: the cross-message signals (campaign counters, entity counts in Redis) describe
the traffic of their moment and cannot be replayed, so stored verdicts that relied on them show
up as drift, not as a candidate change.

Revisions are read in pages (keyset on the submission id, one short session each) and scored
outside any transaction; purged revisions (retention erased their text) are skipped and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, and_, func, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from moderation.models import Assessment, Submission, SubmissionRevision
from moderation.redaction import redact
from moderation.submissions import to_score_input
from moderation.verdict_comparison import VerdictComparison, latest_labels
from scoring.types import ScoreInput, ScoreResult

EXAMPLE_CHARS = 160


class BatchScorer(Protocol):
    """What a backtest needs from `scoring.engine.Scorer`."""

    def score_many(self, items: Sequence[ScoreInput], /) -> list[ScoreResult]: ...


@dataclass(frozen=True)
class BacktestOptions:
    since: datetime | None = None  # revisions created at or after this
    kind: str | None = None  # "message" | "listing"; None: both
    batch_size: int = 200
    max_examples: int = 10


@dataclass(frozen=True)
class ChangedExample:
    """One item whose verdict the candidate changes, with its text masked (no personal data)."""

    submission_id: str
    external_id: str
    kind: str
    active_verdict: str
    candidate_verdict: str
    active_categories: list[str]
    candidate_categories: list[str]
    label: str | None
    excerpt: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class BacktestReport:
    """What changed between the active scorer and the candidate over the stored revisions."""

    active_versions: tuple[str, str]  # (rules_version, model_version)
    candidate_versions: tuple[str, str]
    options: BacktestOptions
    scanned: int = 0
    scored: int = 0
    skipped_purged: int = 0
    skipped_empty: int = 0
    comparison: VerdictComparison = field(default_factory=VerdictComparison)
    # Stored verdict (whatever version produced it) against the active scorer re-run now.
    drift: VerdictComparison = field(default_factory=VerdictComparison)
    unassessed: int = 0  # scored here but never assessed in production (queued, failed)
    stored_versions: dict[str, int] = field(default_factory=dict)  # "rules / model" -> count
    examples: list[ChangedExample] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "active": {"rules_version": self.active_versions[0], "model_version": self.active_versions[1]},
            "candidate": {
                "rules_version": self.candidate_versions[0],
                "model_version": self.candidate_versions[1],
            },
            "since": self.options.since.isoformat() if self.options.since else None,
            "kind": self.options.kind,
            "scanned": self.scanned,
            "scored": self.scored,
            "skipped_purged": self.skipped_purged,
            "skipped_empty": self.skipped_empty,
            "comparison": self.comparison.to_dict(),
            "drift": {**self.drift.to_dict(), "unassessed": self.unassessed},
            "stored_versions": dict(sorted(self.stored_versions.items())),
            "examples": [e.to_dict() for e in self.examples],
        }


def _latest_revisions(options: BacktestOptions) -> Select[SubmissionRevision, str]:
    query = (
        select(SubmissionRevision, Submission.external_id)
        .join(
            Submission,
            and_(
                Submission.id == SubmissionRevision.submission_id,
                Submission.current_revision == SubmissionRevision.revision,
            ),
        )
        .order_by(Submission.id)
    )
    if options.kind is not None:
        query = query.where(Submission.kind == options.kind)
    if options.since is not None:
        query = query.where(SubmissionRevision.created_at >= options.since)
    return query


def count_revisions(session: Session, options: BacktestOptions) -> int:
    """How many revisions a backtest with `options` will look at (the progress bar's length)."""
    return session.scalar(select(func.count()).select_from(_latest_revisions(options).subquery())) or 0


def run_backtest(
    session_factory: sessionmaker[Session],
    active: BatchScorer,
    candidate: BatchScorer,
    options: BacktestOptions = BacktestOptions(),
    on_batch: Callable[[int], None] | None = None,
) -> BacktestReport:
    """Rescore the latest revision of every stored submission matching `options` with both scorers.

    `on_batch(n)` is called after each page with the number of revisions it held (progress).
    """
    if options.batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = BacktestReport(
        active_versions=_versions(active), candidate_versions=_versions(candidate), options=options
    )
    last_id = ""
    while True:
        with session_factory() as session:
            page = session.execute(
                _latest_revisions(options).where(Submission.id > last_id).limit(options.batch_size)
            ).all()
            if not page:
                break
            last_id = page[-1][0].submission_id
            keys = [(row.submission_id, row.revision) for row, _ in page]
            labels = latest_labels(session, keys)
            stored = _stored_assessments(session, keys)
            todo: list[tuple[SubmissionRevision, str, ScoreInput]] = []
            for row, external_id in page:
                if not (row.text or row.title):
                    if (row.payload or {}).get("purged_at"):
                        report.skipped_purged += 1
                    else:
                        report.skipped_empty += 1
                    continue
                todo.append((row, external_id, to_score_input(row)))
        report.scanned += len(page)
        _score_page(report, active, candidate, todo, labels, stored)
        if on_batch is not None:
            on_batch(len(page))
    return report


def _score_page(
    report: BacktestReport,
    active: BatchScorer,
    candidate: BatchScorer,
    todo: list[tuple[SubmissionRevision, str, ScoreInput]],
    labels: dict[tuple[str, int], str],
    stored: dict[tuple[str, int], tuple[str, list[str], str]],
) -> None:
    if not todo:
        return
    items = [item for _, _, item in todo]
    active_results = active.score_many(items)
    candidate_results = candidate.score_many(items)
    for (row, external_id, _item), a, c in zip(todo, active_results, candidate_results, strict=True):
        key = (row.submission_id, row.revision)
        label = labels.get(key)
        a_cats = [x.value for x in a.categories]
        c_cats = [x.value for x in c.categories]
        report.scored += 1
        report.comparison.add(a.verdict.value, a_cats, c.verdict.value, c_cats, label)
        if key in stored:
            verdict, categories, versions = stored[key]
            report.drift.add(verdict, categories, a.verdict.value, a_cats, label)
            report.stored_versions[versions] = report.stored_versions.get(versions, 0) + 1
        else:
            report.unassessed += 1
        if a.verdict != c.verdict and len(report.examples) < report.options.max_examples:
            report.examples.append(
                ChangedExample(
                    submission_id=row.submission_id,
                    external_id=external_id,
                    kind=str(row.payload.get("kind", "")),
                    active_verdict=a.verdict.value,
                    candidate_verdict=c.verdict.value,
                    active_categories=a_cats,
                    candidate_categories=c_cats,
                    label=label,
                    excerpt=_excerpt(row),
                )
            )


def _stored_assessments(
    session: Session, keys: list[tuple[str, int]]
) -> dict[tuple[str, int], tuple[str, list[str], str]]:
    if not keys:
        return {}
    rows = session.execute(
        select(
            Assessment.submission_id,
            Assessment.revision,
            Assessment.verdict,
            Assessment.categories,
            Assessment.rules_version,
            Assessment.model_version,
        ).where(tuple_(Assessment.submission_id, Assessment.revision).in_(keys))
    )
    return {
        (sid, rev): (verdict, list(categories or []), f"{rules} / {model}")
        for sid, rev, verdict, categories, rules, model in rows
    }


def _excerpt(row: SubmissionRevision) -> str:
    text = " — ".join(part for part in (row.title, row.text) if part)
    text = " ".join(text.split())
    # Mask before cutting, so a phone number split by the cut cannot escape the patterns.
    masked = redact(text)
    return masked if len(masked) <= EXAMPLE_CHARS else masked[: EXAMPLE_CHARS - 1] + "…"


def _versions(scorer: object) -> tuple[str, str]:
    return (str(getattr(scorer, "rules_version", "?")), str(getattr(scorer, "model_version", "?")))
