"""Geometry of the statistics page's charts, drawn as inline SVG by the templates (no JS library).

Functions return coordinates and labels only; the templates write the SVG elements with
presentation attributes (the CSP forbids inline styles) and autoescape every label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

WIDTH, HEIGHT, PAD = 640, 200, 32


@dataclass(frozen=True)
class LineChart:
    points: str  # "x,y x,y ..." for <polyline>
    max_value: int
    first_label: str
    last_label: str
    dots: list[tuple[float, float, str]]  # x, y, tooltip


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    width: float
    y: float
    text: str


def line_chart(series: list[tuple[datetime, int]]) -> LineChart:
    """A polyline of `series` scaled into the chart box (y grows downwards in SVG)."""
    top = max((v for _, v in series), default=0) or 1
    n = max(1, len(series) - 1)
    dots = []
    for i, (t, v) in enumerate(series):
        x = PAD + (WIDTH - 2 * PAD) * i / n
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top
        dots.append((round(x, 1), round(y, 1), f"{t:%d/%m %H:%M} : {v}"))
    return LineChart(
        points=" ".join(f"{x},{y}" for x, y, _ in dots),
        max_value=top,
        first_label=f"{series[0][0]:%d/%m}" if series else "",
        last_label=f"{series[-1][0]:%d/%m}" if series else "",
        dots=dots,
    )


def bars(
    rows: list[tuple[str, float, str]], scale_max: float | None = None, row_height: int = 22
) -> list[Bar]:
    """Horizontal bars for (label, value, shown text); lengths relative to `scale_max` (or the largest)."""
    top = scale_max if scale_max is not None else max((v for _, v, _ in rows), default=0.0)
    top = top or 1.0
    usable = WIDTH - 260
    return [
        Bar(label=label, value=value, width=round(usable * value / top, 1), y=i * row_height, text=text)
        for i, (label, value, text) in enumerate(rows)
    ]


@dataclass(frozen=True)
class DriftSeries:
    name: str
    colour: str
    points: str  # "x,y ..." of the weeks that have a PSI (weeks with too few assessments are skipped)
    dots: list[tuple[float, float, str]]


@dataclass(frozen=True)
class DriftChart:
    series: list[DriftSeries]
    max_value: float
    threshold: float
    threshold_y: float
    ticks: list[tuple[float, str]]  # x of the label's start, week label


PSI_SCALE_CAP = 5.0
# Colour-blind-safe pair (Okabe-Ito), then more of the same palette for further kinds.
SERIES_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9")


def drift_chart(
    weeks: list[date], series: list[tuple[str, list[float | None]]], threshold: float
) -> DriftChart:
    """PSI per week for each named series, against a horizontal line at the alert `threshold`.

    The y scale always shows the threshold with some room above it, so a calm chart reads as calm
    instead of magnifying noise to full height; it stops at PSI_SCALE_CAP x the threshold so one
    huge shift does not flatten every other week onto the axis (such points sit on the top edge,
    their tooltip gives the value)."""
    highest = max([0.0, *(v for _, values in series for v in values if v is not None)])
    top = min(max(threshold * 1.5, highest), threshold * PSI_SCALE_CAP)
    n = max(1, len(weeks) - 1)

    def x_of(i: int) -> float:
        return round(PAD + (WIDTH - 2 * PAD) * i / n, 1)

    def y_of(v: float) -> float:
        return round(HEIGHT - PAD - (HEIGHT - 2 * PAD) * min(v, top) / top, 1)

    out = []
    for k, (name, values) in enumerate(series):
        dots = [
            (x_of(i), y_of(v), f"{name} {weeks[i]:%d/%m} : PSI {v:.3f}")
            for i, v in enumerate(values)
            if v is not None
        ]
        out.append(
            DriftSeries(
                name=name,
                colour=SERIES_COLOURS[k % len(SERIES_COLOURS)],
                points=" ".join(f"{x},{y}" for x, y, _ in dots),
                dots=dots,
            )
        )
    return DriftChart(
        series=out,
        max_value=round(top, 2),
        threshold=threshold,
        threshold_y=y_of(threshold),
        ticks=[(round(x_of(i) - 12, 1), f"{w:%d/%m}") for i, w in enumerate(weeks)],
    )
