"""Comparing two scorers' verdicts on the same items, and each against moderators' labels.

Shared by shadow reports (live traffic, `moderation.shadow`) and backtests (stored traffic,
`moderation.backtest`) so both count agreement, flags and label metrics the same way. A verdict
other than `allow` is a flag (the recipient sees something); a `scam` label is the positive class.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from moderation.review_models import Label

VERDICTS = ("allow", "warn", "review", "hold")
# Bound the size of one IN (...) list: PostgreSQL and SQLite both accept it comfortably.
_LABEL_CHUNK = 500


def is_flag(verdict: str) -> bool:
    """True when the verdict shows something to someone (warn, review, hold)."""
    return verdict != "allow"


@dataclass
class LabelMetrics:
    """One side's flags against labels: scam flagged (tp), not_scam flagged (fp), and so on."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, flagged: bool, scam: bool) -> None:
        if flagged and scam:
            self.tp += 1
        elif flagged:
            self.fp += 1
        elif scam:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        """Share of flagged labelled items that are scams; None when nothing labelled was flagged."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """Share of labelled scams that were flagged; None without labelled scams."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def false_positive_rate(self) -> float | None:
        """Share of labelled honest items that were flagged; None without honest labels."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": self.precision,
            "recall": self.recall,
            "false_positive_rate": self.false_positive_rate,
        }


@dataclass
class CategoryCounts:
    """For one category: items where each side reported it, and where only one side did."""

    active: int = 0
    candidate: int = 0
    gained: int = 0  # candidate reports it, active does not
    lost: int = 0  # active reports it, candidate does not
    verdict_changed: int = 0  # items reported under it by either side whose verdict differs

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class VerdictComparison:
    """Running counts of how a candidate's verdicts differ from the active ones (`add` one item at a time)."""

    total: int = 0
    agree: int = 0
    transitions: dict[tuple[str, str], int] = field(default_factory=dict)
    extra_flags: int = 0  # the candidate flags, the active side allows
    missed_flags: int = 0  # the active side flags, the candidate allows
    categories: dict[str, CategoryCounts] = field(default_factory=dict)
    labelled: int = 0
    active_vs_labels: LabelMetrics = field(default_factory=LabelMetrics)
    candidate_vs_labels: LabelMetrics = field(default_factory=LabelMetrics)

    def add(
        self,
        active_verdict: str,
        active_categories: Iterable[str],
        candidate_verdict: str,
        candidate_categories: Iterable[str],
        label: str | None = None,
    ) -> None:
        """Count one item; `label` is its moderators' label (scam / not_scam) or None."""
        self.total += 1
        changed = active_verdict != candidate_verdict
        if not changed:
            self.agree += 1
        key = (active_verdict, candidate_verdict)
        self.transitions[key] = self.transitions.get(key, 0) + 1
        if is_flag(candidate_verdict) and not is_flag(active_verdict):
            self.extra_flags += 1
        if is_flag(active_verdict) and not is_flag(candidate_verdict):
            self.missed_flags += 1
        active_set, candidate_set = set(active_categories), set(candidate_categories)
        for category in active_set | candidate_set:
            counts = self.categories.setdefault(category, CategoryCounts())
            in_active, in_candidate = category in active_set, category in candidate_set
            counts.active += in_active
            counts.candidate += in_candidate
            counts.gained += in_candidate and not in_active
            counts.lost += in_active and not in_candidate
            counts.verdict_changed += changed
        if label is not None:
            self.labelled += 1
            scam = label == "scam"
            self.active_vs_labels.add(is_flag(active_verdict), scam)
            self.candidate_vs_labels.add(is_flag(candidate_verdict), scam)

    @property
    def changed(self) -> int:
        return self.total - self.agree

    @property
    def agreement_rate(self) -> float | None:
        """Share of items with the same verdict on both sides; None when nothing was compared."""
        return self.agree / self.total if self.total else None

    def matrix(self) -> list[list[int]]:
        """Transition counts as rows (active verdict) by columns (candidate verdict), in `VERDICTS` order."""
        return [[self.transitions.get((a, c), 0) for c in VERDICTS] for a in VERDICTS]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "agree": self.agree,
            "changed": self.changed,
            "agreement_rate": self.agreement_rate,
            "transitions": [
                {"active": a, "candidate": c, "count": n} for (a, c), n in sorted(self.transitions.items())
            ],
            "extra_flags": self.extra_flags,
            "missed_flags": self.missed_flags,
            "categories": {name: c.to_dict() for name, c in sorted(self.categories.items())},
            "labelled": self.labelled,
            "active_vs_labels": self.active_vs_labels.to_dict(),
            "candidate_vs_labels": self.candidate_vs_labels.to_dict(),
        }


def latest_labels(session: Session, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The current label (scam / not_scam) of each (submission_id, revision) that has one.

    Retracted labels (undone decisions) do not count; when a revision was decided again (after an
    undo or an appeal) the latest label wins.
    """
    out: dict[tuple[str, int], str] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), _LABEL_CHUNK):
        chunk = unique[start : start + _LABEL_CHUNK]
        rows = session.execute(
            select(Label.submission_id, Label.revision, Label.label)
            .where(tuple_(Label.submission_id, Label.revision).in_(chunk), Label.retracted_at.is_(None))
            .order_by(Label.id.desc())
        )
        for sid, rev, label in rows:
            out.setdefault((sid, rev), label)
    return out
