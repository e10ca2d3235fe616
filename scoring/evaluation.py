"""Detection-quality metrics: pure functions over labelled, scored rows (no I/O, no plotting).

`vigie evaluate` builds `EvalRow`s for each system (Vigie's Scorer, the baseline) and data set, and
this module turns them into confusion counts per group, precision–recall curves and Markdown tables.
A metric that is undefined on a group (no positives for recall, nothing flagged for precision) is
`None`, never a made-up 0 or 1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np


def holdout_half(record: Mapping[str, Any]) -> Literal["dev", "report"]:
    """Which half of the holdout corpus a record belongs to: "dev" (errors may be inspected to guide
    general fixes) or "report" (only aggregate numbers are ever looked at).

    The split is by conversation (a record without one is its own group), so the turns of one scam
    script never sit on both sides: `int(sha256(conversation_id or id), 16) % 2`, 0 -> dev, 1 -> report.
    This is the one definition of the split; every report and tuning script must use it.
    """
    key = str(record.get("conversation_id") or record["id"])
    return "dev" if int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "report"


@dataclass(frozen=True, slots=True)
class EvalRow:
    """One evaluated input: truth, the system's decision and score, and the groups it belongs to."""

    label: int  # 1 = scam
    flagged: bool  # the system's decision at its operating point (Scorer: verdict >= warn)
    score: float  # the system's score in [0, 1], for curves
    source: str = ""
    lang: str | None = None
    categories: tuple[str, ...] = ()  # true scam categories (positives only)
    predicted_categories: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Confusion:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.fp + self.tn

    @property
    def precision(self) -> float | None:
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.positives if self.positives else None

    @property
    def false_positive_rate(self) -> float | None:
        return self.fp / self.negatives if self.negatives else None

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "n": self.positives + self.negatives,
            "positives": self.positives,
            "tp": self.tp,
            "fp": self.fp,
            "tn": self.tn,
            "fn": self.fn,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "false_positive_rate": _round(self.false_positive_rate),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def confusion(rows: Iterable[EvalRow]) -> Confusion:
    """Confusion counts of `rows` at each row's own decision (`flagged`)."""
    tp = fp = tn = fn = 0
    for row in rows:
        if row.label:
            tp += row.flagged
            fn += not row.flagged
        else:
            fp += row.flagged
            tn += not row.flagged
    return Confusion(tp, fp, tn, fn)


def grouped(rows: Sequence[EvalRow], keys: Callable[[EvalRow], Iterable[str]]) -> dict[str, Confusion]:
    """Confusion counts per group; `keys(row)` names every group a row belongs to (sorted by name)."""
    members: dict[str, list[EvalRow]] = {}
    for row in rows:
        for key in keys(row):
            members.setdefault(key, []).append(row)
    return {key: confusion(members[key]) for key in sorted(members)}


def by_source(rows: Sequence[EvalRow]) -> dict[str, Confusion]:
    return grouped(rows, lambda r: [r.source])


def by_language(rows: Sequence[EvalRow]) -> dict[str, Confusion]:
    return grouped(rows, lambda r: [r.lang or "unknown"])


def by_category(rows: Sequence[EvalRow]) -> dict[str, Confusion]:
    """Per true scam category: the scams of that category plus every legitimate row of the same sources.

    Recall is the share of that category's scams flagged; the false positive rate is shared by all
    categories of a source, so precision says how much of the flagging is right where that category lives.
    """
    negatives_by_source: dict[str, list[EvalRow]] = {}
    positives: dict[str, list[EvalRow]] = {}
    for row in rows:
        if row.label:
            for cat in row.categories or ("uncategorised",):
                positives.setdefault(cat, []).append(row)
        else:
            negatives_by_source.setdefault(row.source, []).append(row)
    out = {}
    for cat in sorted(positives):
        sources = sorted({r.source for r in positives[cat]})
        negatives = [r for s in sources for r in negatives_by_source.get(s, [])]
        out[cat] = confusion([*positives[cat], *negatives])
    return out


def category_attribution(rows: Sequence[EvalRow]) -> dict[str, dict[str, float | int | None]]:
    """For each category the system assigned: how often it was a scam, and whether the true category.

    `scam_precision` = share of rows given this category that are scams; `category_precision` = share
    whose true categories include it (only meaningful where the data set labels categories).
    """
    assigned: dict[str, list[EvalRow]] = {}
    for row in rows:
        for cat in row.predicted_categories:
            assigned.setdefault(cat, []).append(row)
    out: dict[str, dict[str, float | int | None]] = {}
    for cat in sorted(assigned):
        group = assigned[cat]
        scams = sum(r.label for r in group)
        labelled = [r for r in group if r.label and r.categories]
        exact = sum(cat in r.categories for r in labelled)
        out[cat] = {
            "assigned": len(group),
            "scam_precision": _round(scams / len(group)),
            "category_precision": _round(exact / len(labelled)) if labelled else None,
        }
    return out


@dataclass(frozen=True)
class Curve:
    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray
    average_precision: float | None


def pr_curve(rows: Sequence[EvalRow]) -> Curve:
    """Precision–recall curve over the rows' scores (empty when a class is missing)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    labels = np.asarray([r.label for r in rows])
    scores = np.asarray([r.score for r in rows], dtype=np.float64)
    if labels.size == 0 or labels.min() == labels.max():
        empty = np.zeros(0)
        return Curve(empty, empty, empty, None)
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    return Curve(precision, recall, thresholds, float(average_precision_score(labels, scores)))


def _fmt(value: float | int | None, pct: bool = True) -> str:
    if value is None:
        return "–"
    if pct and isinstance(value, float):
        return f"{100 * value:.1f}%"
    return str(value)


def markdown_table(title: str, systems: dict[str, dict[str, Confusion]]) -> str:
    """A Markdown table with one line per group and precision/recall/FPR columns per system.

    `systems` maps a system name to its per-group confusion counts; groups are the union of keys.
    """
    names = list(systems)
    groups = sorted({g for table in systems.values() for g in table})
    head = ["group", "n", "scams"]
    for name in names:
        head += [f"{name} P", f"{name} R", f"{name} FPR"]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for group in groups:
        first = next(t[group] for t in systems.values() if group in t)
        cells = [group, str(first.positives + first.negatives), str(first.positives)]
        for name in names:
            c = systems[name].get(group)
            if c is None:
                cells += ["–", "–", "–"]
            else:
                cells += [_fmt(c.precision), _fmt(c.recall), _fmt(c.false_positive_rate)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
