"""The quality dashboard: per-rule and per-version precision from moderator labels, weekly score
histograms and their drift (PSI), on seeded assessments and labels in SQLite and PostgreSQL; then
the console statistics page and the /metrics gauges built on them."""

from __future__ import annotations

import itertools
import logging
import math
import random
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from api.console.charts import HEIGHT, PAD, drift_chart
from api.quality_metrics import QualityCollector
from moderation.clock import utcnow
from moderation.db import make_session_factory
from moderation.models import Assessment, Submission
from moderation.moderators import create_moderator
from moderation.quality import (
    MIN_WEEK_COUNT,
    PSI_ALERT,
    PSI_WATCH,
    psi,
    psi_level,
    quality_report,
    week_start,
    week_starts,
    wilson_interval,
)
from moderation.review_models import Decision, Label, ReviewItem
from tests.review.test_console import log_in

# A Wednesday noon: the window's weeks are whole Mondays before it.
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
HOSTILE_CODE = '<script>alert("rule")</script>'
HOSTILE_VERSION = '"><img src=x onerror=alert(1)>'
_ids = itertools.count(1)

Seed = Callable[..., str]


@pytest.fixture
def seed(session_factory: sessionmaker[Session]) -> Seed:
    """Store one assessed submission, and the labels given as (label, retracted) in order."""

    def store(
        at: datetime,
        score: float = 0.9,
        verdict: str = "hold",
        codes: Sequence[str] = (),
        model: str = "model-a",
        rules: str = "rules-a",
        kind: str = "message",
        labels: Sequence[tuple[str, bool]] = (),
    ) -> str:
        n = next(_ids)
        sid = f"s{n:030d}"
        with session_factory() as session:
            session.add(Submission(id=sid, kind=kind, external_id=f"ext-{n}", created_at=at, updated_at=at))
            session.flush()
            session.add(
                Assessment(
                    submission_id=sid, revision=1, score=score, verdict=verdict, categories=[],
                    reasons=[{"code": c, "category": "external_payment", "weight": 0.5} for c in codes],
                    model_version=model, rules_version=rules, duration_ms=1.0, created_at=at,
                )
            )  # fmt: skip
            if labels:
                item = ReviewItem(
                    id=f"i{n:030d}", submission_id=sid, revision=1, kind=kind, priority=1.0,
                    sort_key=0.0, categories=[], sources=["score"], due_at=at,
                )  # fmt: skip
                session.add(item)
                session.flush()
                for label, retracted in labels:
                    decision = Decision(
                        item_id=item.id, submission_id=sid, revision=1, moderator_id="mod-1",
                        decision="confirm_scam" if label == "scam" else "not_scam", reason="other",
                        actions={}, categories=[], undone_at=at if retracted else None,
                    )  # fmt: skip
                    session.add(decision)
                    session.flush()
                    session.add(
                        Label(
                            submission_id=sid, revision=1, label=label, moderator_id="mod-1",
                            decision_id=decision.id, retracted_at=at if retracted else None,
                        )
                    )  # fmt: skip
            session.commit()
        return sid

    return store


def seed_scores(
    session_factory: sessionmaker[Session], at: datetime, scores: Sequence[float], verdict: str
) -> None:
    """Unlabelled message assessments of model-drift at `at`, one transaction (weeks of hundreds)."""
    sids = [f"s{next(_ids):030d}" for _ in scores]
    with session_factory() as session:
        # No ORM relationship orders the two tables: submissions are flushed first for the foreign key.
        session.add_all(
            Submission(id=sid, kind="message", external_id=f"ext-{sid}", created_at=at, updated_at=at)
            for sid in sids
        )
        session.flush()
        session.add_all(
            Assessment(
                submission_id=sid, revision=1, score=score, verdict=verdict, categories=[], reasons=[],
                model_version="model-drift", rules_version="rules-drift", duration_ms=1.0, created_at=at,
            )
            for sid, score in zip(sids, scores, strict=True)
        )  # fmt: skip
        session.commit()


def seed_precision_case(seed: Seed, now: datetime, model: str = "model-a", code: str = "rule.a") -> None:
    """Six assessments of `model` in the window, one of model-b outside it and one inside."""
    recent = now - timedelta(days=1)
    seed(recent, verdict="hold", codes=[code, "rule.b"], model=model, labels=[("scam", False)])
    seed(recent, verdict="review", codes=[code], model=model, labels=[("not_scam", False)])
    # The same code quoted twice counts once; the latest label (after an undo and a new decision) wins.
    seed(recent, verdict="hold", codes=[code, code], model=model,
         labels=[("not_scam", True), ("scam", False)])  # fmt: skip
    # A retracted label is no label at all.
    seed(recent, verdict="hold", codes=["rule.b"], model=model, labels=[("scam", True)])
    # Allowed, then labelled scam (a user report): a scam the model missed, not part of its precision.
    seed(recent, score=0.1, verdict="allow", codes=[], model=model, labels=[("scam", False)])
    seed(recent, score=0.05, verdict="allow", model=model)
    seed(now - timedelta(weeks=13), verdict="warn", codes=[code], model="model-b", rules="rules-b",
         labels=[("not_scam", False)])  # fmt: skip
    seed(recent, score=0.2, verdict="allow", model="model-b", rules="rules-b")


def test_wilson_interval_matches_published_values() -> None:
    # Reference values: Wilson score interval, z = 1.96 (e.g. Newcombe 1998, Table I: 0/10, 1/29).
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(1, 29)
    assert (low, high) == (pytest.approx(0.0061, abs=1e-4), pytest.approx(0.1718, abs=1e-4))
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_psi_of_identical_and_shifted_distributions() -> None:
    base = [5, 10, 20, 30, 20, 10, 3, 1, 1, 0]
    assert psi(base, base) == pytest.approx(0.0, abs=1e-12)
    # Shares, not counts: the same shape ten times bigger reads as stable (the smoothing weighs a little).
    assert psi(base, [10 * c for c in base]) < PSI_WATCH
    shifted = [0, 1, 1, 3, 10, 20, 30, 20, 10, 5]
    assert psi(base, shifted) > PSI_ALERT
    # Hand-computed two-bin case, each count smoothed by half an observation (totals 101).
    a, e = (70.5 / 101, 30.5 / 101), (50.5 / 101, 50.5 / 101)
    expected = (a[0] - e[0]) * math.log(a[0] / e[0]) + (a[1] - e[1]) * math.log(a[1] / e[1])
    assert psi([50, 50], [70, 30]) == pytest.approx(expected)
    assert psi_level(0.05) == "stable" and psi_level(0.15) == "watch" and psi_level(0.2) == "alert"
    with pytest.raises(ValueError):
        psi([0, 0], [1, 1])


def test_same_distribution_weeks_of_min_count_rarely_alert_and_a_real_shift_does() -> None:
    rng = random.Random(20261118)

    def week(alpha: float, beta: float) -> list[int]:
        counts = [0] * 10
        for _ in range(MIN_WEEK_COUNT):
            counts[min(9, int(rng.betavariate(alpha, beta) * 10))] += 1
        return counts

    pairs = 500
    false_alerts = sum(psi(week(1.2, 4.0), week(1.2, 4.0)) >= PSI_ALERT for _ in range(pairs))
    detected = sum(psi(week(1.2, 4.0), week(1.8, 3.5)) >= PSI_ALERT for _ in range(pairs))
    assert false_alerts / pairs < 0.02
    assert detected / pairs > 0.9


def test_weeks_start_on_monday_utc() -> None:
    assert week_start(NOW).isoformat() == "2026-11-16"
    assert week_start(datetime(2026, 11, 16, 0, 0, tzinfo=UTC)).isoformat() == "2026-11-16"
    assert week_start(datetime(2026, 11, 15, 23, 59, 59, tzinfo=UTC)).isoformat() == "2026-11-09"
    weeks = week_starts(NOW, 12)
    assert len(weeks) == 12 and weeks[-1].isoformat() == "2026-11-16" and weeks[0].isoformat() == "2026-08-31"


def test_rule_and_version_precision_from_labels(seed: Seed, session_factory: sessionmaker[Session]) -> None:
    seed_precision_case(seed, NOW)
    with session_factory() as session:
        report = quality_report(session, NOW)
    rules = {r.code: r.precision for r in report.rules}
    assert set(rules) == {"rule.a", "rule.b"}
    assert (rules["rule.a"].hits, rules["rule.a"].total) == (2, 3)
    assert (rules["rule.b"].hits, rules["rule.b"].total) == (1, 1)
    assert [r.code for r in report.rules] == ["rule.a", "rule.b"]  # least precise first
    low, high = rules["rule.a"].interval
    assert (low, high) == (pytest.approx(0.2077, abs=1e-4), pytest.approx(0.9385, abs=1e-4))

    models = {m.version: m for m in report.models}
    a, b = models["model-a"], models["model-b"]
    assert (a.flag_rate.hits, a.flag_rate.total) == (4, 6)
    assert (a.precision.hits, a.precision.total) == (2, 3)
    assert a.missed_scams == 1
    # model-b's labelled assessment is 13 weeks old: outside the window.
    assert (b.flag_rate.hits, b.flag_rate.total) == (0, 1) and b.precision.total == 0
    packs = {p.version: p for p in report.rule_packs}
    assert (packs["rules-a"].precision.hits, packs["rules-a"].precision.total) == (2, 3)


def _scores(low: float, high: float, n: int) -> list[float]:
    """n scores spread evenly over [low, high)."""
    return [low + (high - low) * (i + 0.5) / n for i in range(n)]


def test_weekly_histograms_drift_and_verdict_mix(seed: Seed, session_factory: sessionmaker[Session]) -> None:
    weeks = week_starts(NOW, 4)
    monday = [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in weeks]
    # Weeks 0 and 1: the same distribution (60 messages over [0, 0.6)); week 2: shifted to [0.4, 1.0).
    for i in (0, 1):
        for score in _scores(0.0, 0.6, 60):
            seed(monday[i] + timedelta(hours=30), score=score, verdict="allow" if score < 0.5 else "warn")
    for score in _scores(0.4, 1.0, 60):
        seed(monday[2] + timedelta(days=6, hours=23), score=score, verdict="hold" if score >= 0.8 else "warn")
    # Bin edges: 0.1 belongs to bin 1, 1.0 to the last bin; the current week has too few to compare.
    seed(monday[3], score=0.1, verdict="allow", kind="listing")
    seed(monday[3] + timedelta(days=1), score=1.0, verdict="hold", kind="listing")
    seed(monday[0] - timedelta(seconds=1), score=0.5, verdict="warn")  # before the window

    with session_factory() as session:
        report = quality_report(session, NOW, weeks=4, min_count=50)
    assert report.weeks == weeks
    drift = {k.kind: k for k in report.drift}
    message = drift["message"]
    assert message.baseline == weeks[0]
    counts = [w.counts for w in message.weeks]
    assert counts[0] == counts[1] == (10, 10, 10, 10, 10, 10, 0, 0, 0, 0)
    assert counts[2] == (0, 0, 0, 0, 10, 10, 10, 10, 10, 10)
    assert counts[3] == (0,) * 10
    psis = [(w.psi_previous, w.psi_baseline) for w in message.weeks]
    assert psis[0] == (None, None)
    assert psis[1][0] == pytest.approx(0.0, abs=1e-12) and psis[1][1] == pytest.approx(0.0, abs=1e-12)
    assert psis[2][0] is not None and psis[2][0] > PSI_ALERT
    assert psis[2][1] == pytest.approx(psis[2][0])
    assert psis[3] == (None, None)
    listing = drift["listing"]
    assert listing.baseline is None
    assert listing.weeks[3].counts == (0, 1, 0, 0, 0, 0, 0, 0, 0, 1)
    assert report.verdict_mix[weeks[0]] == {"allow": 50, "warn": 10}
    assert report.verdict_mix[weeks[2]] == {"warn": 40, "hold": 20}
    assert report.verdict_mix[weeks[3]] == {"allow": 1, "hold": 1}


def test_empty_database_gives_an_empty_report(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        report = quality_report(session, NOW)
    assert report.rules == [] and report.models == [] and report.drift == []
    assert all(mix == {} for mix in report.verdict_mix.values())


@pytest.fixture
def console_client(app: Flask) -> FlaskClient:
    with app.extensions["vigie"].session_factory() as session:
        moderator, _ = create_moderator(session, "quality@example.org", "Modo", "correct horse battery")
        session.commit()
    client = app.test_client()
    assert log_in(client, moderator.email) == 303
    return client


def test_console_statistics_show_quality_tables_escaped(
    seed: Seed, console_client: FlaskClient, session_factory: sessionmaker[Session]
) -> None:
    now = utcnow()
    seed_precision_case(seed, now, model=HOSTILE_VERSION, code=HOSTILE_CODE)
    seed_scores(session_factory, now - timedelta(weeks=2), _scores(0.0, 0.6, MIN_WEEK_COUNT), "allow")
    seed_scores(session_factory, now - timedelta(weeks=1), _scores(0.4, 1.0, MIN_WEEK_COUNT), "warn")
    response = console_client.get("/console/stats")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert str(escape(HOSTILE_CODE)) in page and str(escape(HOSTILE_VERSION)) in page
    rule_row = re.search(r'<tr data-rule="[^"]*">(.*?)</tr>', page, re.S)
    assert rule_row and str(escape(HOSTILE_CODE)) in rule_row.group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rule_row.group(1), re.S)
    assert [c.strip() for c in cells[1:4]] == ["3", "2", "67 %"]
    assert 'id="quality-rules"' in page and 'id="quality-models"' in page
    assert '<svg id="drift-chart"' in page
    assert 'class="psi psi-alert"' in page  # the shifted week
    assert "Content-Security-Policy" in response.headers


def _gauge(exposition: str, name: str, **labels: str) -> float | None:
    for line in exposition.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line[: line.rindex("}")]))
        if found == labels:
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_expose_quality_gauges_and_cache_them(
    seed: Seed, make_app: Callable[..., Flask], session_factory: sessionmaker[Session]
) -> None:
    now = utcnow()
    seed_precision_case(seed, now)
    weeks = week_starts(now, 12)
    monday = datetime(weeks[-3].year, weeks[-3].month, weeks[-3].day, tzinfo=UTC)
    seed_scores(session_factory, monday + timedelta(hours=1), _scores(0.0, 0.6, MIN_WEEK_COUNT), "allow")
    seed_scores(
        session_factory, monday + timedelta(days=7, hours=1), _scores(0.4, 1.0, MIN_WEEK_COUNT), "warn"
    )
    client = make_app(quality_metrics_cache_s=3600.0).test_client()
    text = client.get("/metrics").get_data(as_text=True)
    assert _gauge(text, "vigie_rule_precision", rule="rule.a") == pytest.approx(2 / 3)
    assert _gauge(text, "vigie_rule_labelled_total", rule="rule.a") == 3.0
    assert _gauge(text, "vigie_rule_precision", rule="rule.b") == 1.0
    assert _gauge(text, "vigie_model_precision", model_version="model-a") == pytest.approx(2 / 3)
    assert _gauge(text, "vigie_flag_rate", model_version="model-a") == pytest.approx(4 / 6)
    assert _gauge(text, "vigie_flag_rate", model_version="model-b") == 0.0
    assert _gauge(text, "vigie_model_precision", model_version="model-b") is None  # nothing labelled
    assert _gauge(text, "vigie_rules_precision", rules_version="rules-a") == pytest.approx(2 / 3)
    shifted = _gauge(text, "vigie_score_psi", kind="message", week=weeks[-2].isoformat())
    assert shifted is not None and shifted > PSI_ALERT
    assert "# TYPE vigie_score_psi gauge" in text and "vigie_http_requests_total" in text

    # Cached: a new label does not show before the period is over...
    seed(now - timedelta(hours=1), verdict="hold", codes=["rule.b"], labels=[("not_scam", False)])
    text = client.get("/metrics").get_data(as_text=True)
    assert _gauge(text, "vigie_rule_precision", rule="rule.b") == 1.0
    # ...and does in an app whose period is zero (every scrape recomputes).
    fresh = make_app(quality_metrics_cache_s=0.0).test_client().get("/metrics").get_data(as_text=True)
    assert _gauge(fresh, "vigie_rule_precision", rule="rule.b") == 0.5


def test_collector_recomputes_after_its_period_and_keeps_the_last_figures_when_the_database_fails(
    seed: Seed, session_factory: sessionmaker[Session], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seed_precision_case(seed, utcnow())
    clock = [0.0]
    broken_engine = create_engine(f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")
    broken = make_session_factory(broken_engine)
    factory = [session_factory]
    collector = QualityCollector(lambda: factory[0](), ttl_s=60.0, monotonic=lambda: clock[0])

    def rule_b() -> float:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(collector)
        value = registry.get_sample_value("vigie_rule_precision", {"rule": "rule.b"})
        assert value is not None
        return value

    assert rule_b() == 1.0
    seed(utcnow(), verdict="hold", codes=["rule.b"], labels=[("not_scam", False)])
    clock[0] = 59.0
    assert rule_b() == 1.0  # within the period: cached
    clock[0] = 60.0
    assert rule_b() == 0.5  # recomputed
    factory[0] = broken  # the database goes away: "no such table"
    clock[0] = 200.0
    with caplog.at_level(logging.WARNING, logger="api.quality_metrics"):
        assert rule_b() == 0.5
    broken_engine.dispose()
    assert "quality metrics not refreshed: OperationalError" in caplog.text


def test_drift_chart_geometry() -> None:
    weeks = week_starts(NOW, 4)
    chart = drift_chart(
        weeks, [("message", [None, 0.0, 0.1, 3.0]), ("listing", [None, None, None, None])], 0.2
    )
    # The scale stops at 5 x the threshold: the 3.0 week sits on the top edge, its tooltip tells the value.
    assert chart.max_value == 1.0
    message, listing = chart.series
    assert [tip for _, _, tip in message.dots][-1].endswith("PSI 3.000")
    ys = [y for _, y, _ in message.dots]
    assert ys == [HEIGHT - PAD, HEIGHT - PAD - (HEIGHT - 2 * PAD) * 0.1, PAD]
    assert chart.threshold_y == pytest.approx(HEIGHT - PAD - (HEIGHT - 2 * PAD) * 0.2)
    assert listing.dots == [] and listing.points == ""
    # A calm chart keeps room above the threshold instead of stretching noise to full height.
    calm = drift_chart(weeks, [("message", [None, 0.01, 0.02, 0.01])], 0.2)
    assert calm.max_value == pytest.approx(0.3)
    assert [label for _, label in calm.ticks] == [f"{w:%d/%m}" for w in weeks]
