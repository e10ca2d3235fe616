"""Quality of the scorer as moderators see it, aggregated in the database over a bounded window.

- per-rule precision: for each reason code, the share of labelled content it fired on that the
  moderators' latest (not retracted) label called "scam", with a Wilson 95 % interval;
- per-model-version and per-rules-version: flag rate (verdict other than `allow`) over every
  assessment, and precision over the labelled flagged ones;
- weekly score histograms (10 bins of width 0.1) per kind, their drift as a PSI against the
  previous week and against a baseline week, and the verdict mix per week.

Every figure is a GROUP BY in the database: rows never travel to Python one per assessment.
Weeks (Monday 00:00 UTC) and score bins are CASE expressions over bound boundaries computed here,
because SQLite and PostgreSQL share no date-truncation function and PostgreSQL rounds (not
truncates) a float cast to integer. Reason codes live in a JSON array: it is expanded with the
dialect's own table function (`json_each` / `json_array_elements`), the only dialect-specific part.

Population stability index: PSI = Σ (a_i − e_i) · ln(a_i / e_i) over the bins, a and e the shares
of the week and of the reference week, each bin's count smoothed by half an observation (an empty
bin would make it infinite; a tiny floor such as 0.0001 instead makes small weeks explode). The
usual reading, used here: < 0.1 stable, 0.1–0.2 moderate shift worth a look, ≥ 0.2 a significant
shift (PSI_ALERT): the score distribution moved, so either the traffic changed (a new scam wave) or
the scorer did (a model or rule pack release), and thresholds tuned on the old distribution may no
longer hold.

Weeks with fewer than MIN_WEEK_COUNT assessments are not compared: PSI between two samples of the
*same* distribution grows as samples shrink. Measured by simulation (2,000 pairs of samples of a
Beta(1.2, 4) score distribution, shaped like real scores, 10 bins, the smoothing above), the share of
pairs at or over 0.2 was 50 % at 50 assessments a week, 14 % at 100, 0.65 % at 200 and 0 at 300,
while a moderate real shift (Beta(1.8, 3.5)) crossed 0.2 in 97–98 % of pairs at every size;
tests/learning/test_quality.py re-checks the rate at MIN_WEEK_COUNT.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, select, true
from sqlalchemy.orm import Session

from moderation.models import Assessment, Submission
from moderation.review_models import Label

WEEKS = 12
BINS = 10
# PSI thresholds (see the module docstring).
PSI_WATCH = 0.1
PSI_ALERT = 0.2
PSI_PSEUDO_COUNT = 0.5  # added to every bin's count (see the module docstring)
MIN_WEEK_COUNT = 200  # fewer and same-distribution weeks cross PSI_ALERT too often (module docstring)
WILSON_Z = 1.96  # 95 %


@dataclass(frozen=True)
class Proportion:
    """`hits` out of `total`, with its Wilson score interval (sound for small counts and 0 or 1)."""

    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.hits, self.total)


@dataclass(frozen=True)
class RuleQuality:
    code: str
    precision: Proportion  # hits: labelled scam; total: labelled


@dataclass(frozen=True)
class VersionQuality:
    version: str
    flag_rate: Proportion  # hits: verdict other than allow; total: assessments in the window
    precision: Proportion  # over labelled flagged assessments
    missed_scams: int  # labelled scam although allowed (found through reports)


@dataclass(frozen=True)
class WeekDistribution:
    week: date  # Monday (UTC)
    counts: tuple[int, ...]  # BINS counts, bin i = scores in [i/10, (i+1)/10), the last one closed
    psi_previous: float | None  # None when either week has fewer than min_count assessments
    psi_baseline: float | None

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class KindDrift:
    kind: str
    baseline: date | None  # the oldest week of the window with enough assessments
    weeks: list[WeekDistribution]


@dataclass(frozen=True)
class QualityReport:
    since: datetime
    weeks: list[date]  # oldest first; the last one is the current, partial week
    rules: list[RuleQuality]
    models: list[VersionQuality]
    rule_packs: list[VersionQuality]
    drift: list[KindDrift]
    verdict_mix: dict[date, dict[str, int]] = field(default_factory=dict)


def wilson_interval(hits: int, total: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion; (0, 1) when nothing was observed."""
    if total <= 0:
        return 0.0, 1.0
    p = hits / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def psi(reference: Sequence[int], current: Sequence[int]) -> float:
    """Population stability index of `current` against `reference` (same bins, raw counts)."""
    if not sum(reference) or not sum(current):
        raise ValueError("PSI of an empty distribution")
    k = PSI_PSEUDO_COUNT
    ref_total = sum(reference) + k * len(reference)
    cur_total = sum(current) + k * len(current)
    value = 0.0
    for ref, cur in zip(reference, current, strict=True):
        e = (ref + k) / ref_total
        a = (cur + k) / cur_total
        value += (a - e) * math.log(a / e)
    return value


def week_start(moment: datetime) -> date:
    """The Monday (UTC) of the week holding `moment`."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def week_starts(now: datetime, weeks: int = WEEKS) -> list[date]:
    """The `weeks` Mondays ending with the current week's, oldest first."""
    current = week_start(now)
    return [current - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _latest_labels() -> Any:
    """(submission_id, revision, label) of every labelled revision: its latest label not retracted."""
    latest = (
        select(Label.submission_id, Label.revision, func.max(Label.id).label("label_id"))
        .where(Label.retracted_at.is_(None))
        .group_by(Label.submission_id, Label.revision)
        .subquery("latest")
    )
    return (
        select(Label.submission_id, Label.revision, Label.label)
        .join(latest, Label.id == latest.c.label_id)
        .subquery("labelled")
    )


def _labelled_assessments(labelled: Any, since: datetime) -> ColumnElement[bool]:
    return and_(
        Assessment.submission_id == labelled.c.submission_id,
        Assessment.revision == labelled.c.revision,
        Assessment.created_at >= since,
    )


def rule_quality(session: Session, since: datetime) -> list[RuleQuality]:
    """Precision of every reason code over the labelled content assessed since `since`, worst first."""
    labelled = _latest_labels()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        element = func.json_array_elements(Assessment.reasons).table_valued("value").alias("reason")
        code = func.json_extract_path_text(element.c.value, "code")
    else:
        element = func.json_each(Assessment.reasons).table_valued("value").alias("reason")
        code = func.json_extract(element.c.value, "$.code")
    is_scam = labelled.c.label == "scam"
    # One assessment can quote a code twice (two spans): it is one labelled firing, hence DISTINCT.
    query = (
        select(
            code.label("code"),
            func.count(distinct(case((is_scam, Assessment.id)))).label("scam"),
            func.count(distinct(Assessment.id)).label("labelled"),
        )
        .select_from(labelled)
        .join(Assessment, _labelled_assessments(labelled, since))
        .join(element, true())
        .where(code.is_not(None))
        .group_by(code)
    )
    rows = [
        RuleQuality(str(row.code), Proportion(int(row.scam), int(row.labelled)))
        for row in session.execute(query)
    ]
    return sorted(rows, key=lambda r: (r.precision.value, -r.precision.total, r.code))


def version_quality(session: Session, since: datetime) -> tuple[list[VersionQuality], list[VersionQuality]]:
    """Flag rate and precision per model version and per rules version, the latest used first.

    One scan serves both: the groups are (model, rules, verdict[, label]), a handful of rows,
    folded per version here. Grouping by the verdict column rather than by "verdict <> 'allow'"
    also keeps PostgreSQL happy (it refuses a GROUP BY expression with a bound parameter when
    the SELECT repeats it)."""
    volume = session.execute(
        select(
            Assessment.model_version,
            Assessment.rules_version,
            Assessment.verdict,
            func.count().label("n"),
            func.max(Assessment.created_at).label("last_used"),
        )
        .where(Assessment.created_at >= since)
        .group_by(Assessment.model_version, Assessment.rules_version, Assessment.verdict)
    ).all()
    labelled = _latest_labels()
    outcome = session.execute(
        select(
            Assessment.model_version,
            Assessment.rules_version,
            Assessment.verdict,
            labelled.c.label,
            func.count().label("n"),
        )
        .select_from(labelled)
        .join(Assessment, _labelled_assessments(labelled, since))
        .group_by(Assessment.model_version, Assessment.rules_version, Assessment.verdict, labelled.c.label)
    ).all()
    return _fold(volume, outcome, "model_version"), _fold(volume, outcome, "rules_version")


def _fold(volume: Sequence[Any], outcome: Sequence[Any], column: str) -> list[VersionQuality]:
    assessed: dict[str, list[int]] = {}  # version: [assessments, flagged]
    last_used: dict[str, datetime] = {}
    for row in volume:
        version = getattr(row, column)
        counts = assessed.setdefault(version, [0, 0])
        counts[0] += row.n
        counts[1] += row.n if row.verdict != "allow" else 0
        last_used[version] = max(row.last_used, last_used.get(version, row.last_used))
    tally: dict[str, list[int]] = {}  # version: [flagged scam, flagged labelled, allowed scam]
    for row in outcome:
        counts = tally.setdefault(getattr(row, column), [0, 0, 0])
        if row.verdict != "allow":
            counts[1] += row.n
            counts[0] += row.n if row.label == "scam" else 0
        elif row.label == "scam":
            counts[2] += row.n
    out = []
    for version in sorted(assessed, key=lambda v: (last_used[v], v), reverse=True):
        scam, labelled_n, missed = tally.get(version, [0, 0, 0])
        total, flagged = assessed[version]
        out.append(VersionQuality(version, Proportion(flagged, total), Proportion(scam, labelled_n), missed))
    return out


def _weekly_counts(session: Session, weeks: list[date]) -> Select[Any]:
    """(week index, kind, score bin, verdict, count) over the window, grouped in the database."""
    week = case(
        *[(Assessment.created_at >= _midnight(day), i) for i, day in reversed(list(enumerate(weeks)))],
        else_=-1,
    )
    score_bin = case(*[(Assessment.score < (i + 1) / BINS, i) for i in range(BINS - 1)], else_=BINS - 1)
    # Grouping by the labels of a subquery, not by the CASE expressions again: PostgreSQL would not
    # recognise the same expression written twice with different bind parameters.
    rows = (
        select(
            week.label("week"),
            Submission.kind.label("kind"),
            score_bin.label("bin"),
            Assessment.verdict.label("verdict"),
        )
        .join(Submission, Submission.id == Assessment.submission_id)
        .where(Assessment.created_at >= _midnight(weeks[0]))
        .subquery("scored")
    )
    return select(rows.c.week, rows.c.kind, rows.c.bin, rows.c.verdict, func.count().label("n")).group_by(
        rows.c.week, rows.c.kind, rows.c.bin, rows.c.verdict
    )


def score_drift(
    session: Session, weeks: list[date], min_count: int = MIN_WEEK_COUNT
) -> tuple[list[KindDrift], dict[date, dict[str, int]]]:
    """Weekly histograms and PSIs per kind, and the verdict mix per week (all kinds together)."""
    histograms: dict[str, list[list[int]]] = {}
    mix: dict[date, dict[str, int]] = {day: {} for day in weeks}
    for row in session.execute(_weekly_counts(session, weeks)):
        if not 0 <= row.week < len(weeks):
            continue
        histograms.setdefault(row.kind, [[0] * BINS for _ in weeks])[row.week][row.bin] += row.n
        verdicts = mix[weeks[row.week]]
        verdicts[row.verdict] = verdicts.get(row.verdict, 0) + row.n
    drift = []
    for kind, counts in sorted(histograms.items()):
        enough = [sum(c) >= min_count for c in counts]
        base = next((i for i, ok in enumerate(enough) if ok), None)
        per_week = []
        for i, week_counts in enumerate(counts):
            previous = psi(counts[i - 1], week_counts) if i and enough[i] and enough[i - 1] else None
            baseline = psi(counts[base], week_counts) if base is not None and i > base and enough[i] else None
            per_week.append(WeekDistribution(weeks[i], tuple(week_counts), previous, baseline))
        drift.append(KindDrift(kind, weeks[base] if base is not None else None, per_week))
    return drift, mix


def quality_report(
    session: Session, now: datetime, weeks: int = WEEKS, min_count: int = MIN_WEEK_COUNT
) -> QualityReport:
    """Every figure of the quality dashboard over the last `weeks` weeks (the current one included)."""
    days = week_starts(now, weeks)
    since = _midnight(days[0])
    drift, mix = score_drift(session, days, min_count)
    models, rule_packs = version_quality(session, since)
    return QualityReport(
        since=since,
        weeks=days,
        rules=rule_quality(session, since),
        models=models,
        rule_packs=rule_packs,
        drift=drift,
        verdict_mix=mix,
    )


def psi_level(value: float | None) -> str:
    """'stable', 'watch' or 'alert' for a PSI (the console's badge colour); 'none' when not computed."""
    if value is None:
        return "none"
    if value >= PSI_ALERT:
        return "alert"
    return "watch" if value >= PSI_WATCH else "stable"
