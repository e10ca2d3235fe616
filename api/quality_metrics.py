"""Quality gauges for /metrics, computed from the database at scrape time (moderation.quality).

A scrape every 15 s must not run the dashboard's GROUP BYs every 15 s: the figures are cached for
`quality_metrics_cache_s` (60 s by default) per process. Under gunicorn each worker keeps its own
cache, so the database sees at most one computation per worker per period. The gauges are the same
in every process (they come from the shared database), which is why they are served from a plain
registry next to the multiprocess one rather than through prometheus-client's multiprocess files.

If the database fails during a scrape the last figures are served again (and the failure logged):
/metrics keeps answering with the HTTP counters, and a gap in these gauges would read as "no data".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from moderation.clock import utcnow
from moderation.quality import QualityReport, VersionQuality, quality_report

log = logging.getLogger(__name__)


def _version_families(
    versions: list[VersionQuality], what: str, label: str
) -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    precision = GaugeMetricFamily(
        f"vigie_{what}_precision",
        f"Share of labelled flagged assessments labelled scam, per {label} (window of 12 weeks).",
        labels=[label],
    )
    labelled = GaugeMetricFamily(
        f"vigie_{what}_labelled",
        f"Labelled flagged assessments behind vigie_{what}_precision, per {label}.",
        labels=[label],
    )
    flag_rate = GaugeMetricFamily(
        f"vigie_{what}_flag_rate" if what != "model" else "vigie_flag_rate",
        f"Share of assessments with a verdict other than allow, per {label} (window of 12 weeks).",
        labels=[label],
    )
    for v in versions:
        if v.precision.total:
            precision.add_metric([v.version], v.precision.value)
        labelled.add_metric([v.version], v.precision.total)
        flag_rate.add_metric([v.version], v.flag_rate.value)
    return precision, labelled, flag_rate


def families(report: QualityReport) -> list[Metric]:
    """The gauge families of a quality report (names documented in the README)."""
    rule_precision = GaugeMetricFamily(
        "vigie_rule_precision",
        "Share of labelled content a reason code fired on that moderators labelled scam (12 weeks).",
        labels=["rule"],
    )
    rule_labelled = GaugeMetricFamily(
        "vigie_rule_labelled_total",
        "Labelled assessments a reason code fired on (the sample behind vigie_rule_precision).",
        labels=["rule"],
    )
    for rule in report.rules:
        rule_precision.add_metric([rule.code], rule.precision.value)
        rule_labelled.add_metric([rule.code], rule.precision.total)
    psi_previous = GaugeMetricFamily(
        "vigie_score_psi",
        "Population stability index of the week's score histogram against the previous week's "
        "(>= 0.2: significant drift). Week = its Monday, UTC.",
        labels=["kind", "week"],
    )
    psi_baseline = GaugeMetricFamily(
        "vigie_score_psi_baseline",
        "Population stability index of the week's score histogram against the baseline week "
        "(the oldest of the window with enough assessments).",
        labels=["kind", "week"],
    )
    for kind in report.drift:
        for week in kind.weeks:
            if week.psi_previous is not None:
                psi_previous.add_metric([kind.kind, week.week.isoformat()], week.psi_previous)
            if week.psi_baseline is not None:
                psi_baseline.add_metric([kind.kind, week.week.isoformat()], week.psi_baseline)
    return [
        rule_precision,
        rule_labelled,
        *_version_families(report.models, "model", "model_version"),
        *_version_families(report.rule_packs, "rules", "rules_version"),
        psi_previous,
        psi_baseline,
    ]


class QualityCollector(Collector):
    """Yields the quality gauges, recomputing them at most once per `ttl_s` seconds."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        ttl_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._families: list[Metric] = []
        self._computed_at: float | None = None

    def describe(self) -> Iterable[Metric]:
        # Registering must not query the database (the default describe() would call collect()).
        return []

    def collect(self) -> Iterator[Metric]:
        # One computation at a time: concurrent scrapes in a threaded server wait for it, then reuse it.
        with self._lock:
            now = self._monotonic()
            if self._computed_at is None or now - self._computed_at >= self._ttl_s:
                try:
                    with self._session_factory() as session:
                        self._families = families(quality_report(session, utcnow()))
                except SQLAlchemyError as exc:
                    log.warning("quality metrics not refreshed: %s", type(exc).__name__)
                self._computed_at = now
            yield from self._families


class QualityMetrics:
    """The quality collector in its own registry, exposed after the process metrics on /metrics."""

    def __init__(self, session_factory: sessionmaker[Session], ttl_s: float) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = QualityCollector(session_factory, ttl_s)
        self.registry.register(self.collector)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
