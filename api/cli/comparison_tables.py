"""Plain-text tables for verdict comparisons (shadow reports and backtests), as the CLI prints them."""

from __future__ import annotations

from moderation.verdict_comparison import VERDICTS, LabelMetrics, VerdictComparison


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def transition_matrix(comparison: VerdictComparison, rows_name: str, cols_name: str) -> list[str]:
    """Rows: `rows_name`'s verdict; columns: `cols_name`'s verdict; the diagonal is agreement."""
    width = max(len(rows_name) + 2, 8)
    lines = [f"{rows_name} ↓ / {cols_name} →"]
    lines.append(f"{'':<{width}}" + "".join(f"{v:>8}" for v in VERDICTS))
    for verdict, counts in zip(VERDICTS, comparison.matrix(), strict=True):
        lines.append(f"{verdict:<{width}}" + "".join(f"{n:>8}" for n in counts))
    return lines


def summary(comparison: VerdictComparison) -> list[str]:
    return [
        f"compared: {comparison.total}, same verdict: {comparison.agree} "
        f"(agreement {_pct(comparison.agreement_rate)}), changed: {comparison.changed}",
        f"extra flags (candidate flags, active allows): {comparison.extra_flags}; "
        f"missed flags (active flags, candidate allows): {comparison.missed_flags}",
    ]


def categories(comparison: VerdictComparison) -> list[str]:
    if not comparison.categories:
        return ["(no category reported by either side)"]
    lines = [f"{'category':<22}{'active':>8}{'cand.':>8}{'gained':>8}{'lost':>8}{'changed':>9}"]
    for name, c in sorted(comparison.categories.items(), key=lambda kv: (-kv[1].verdict_changed, kv[0])):
        lines.append(f"{name:<22}{c.active:>8}{c.candidate:>8}{c.gained:>8}{c.lost:>8}{c.verdict_changed:>9}")
    return lines


def against_labels(
    comparison: VerdictComparison, first: str = "active", second: str = "candidate"
) -> list[str]:
    """Precision, recall and false-positive rate of both sides on the labelled items (flag = not allow)."""
    if not comparison.labelled:
        return ["no moderator labels on these items"]
    lines = [
        f"labelled items: {comparison.labelled}",
        f"{'':<11}{'precision':>10}{'recall':>8}{'FPR':>8}{'tp':>5}{'fp':>5}{'fn':>5}{'tn':>5}",
    ]
    for name, m in ((first, comparison.active_vs_labels), (second, comparison.candidate_vs_labels)):
        lines.append(_metrics_row(name, m))
    return lines


def _metrics_row(name: str, m: LabelMetrics) -> str:
    return (
        f"{name:<11}{_pct(m.precision):>10}{_pct(m.recall):>8}{_pct(m.false_positive_rate):>8}"
        f"{m.tp:>5}{m.fp:>5}{m.fn:>5}{m.tn:>5}"
    )
