"""The console statistics page computes its quality report at most once per
VIGIE_QUALITY_METRICS_CACHE_S per app (process): a labelled assessment stored meanwhile shows only
once the period is over, and a cache period of 0 shows it at once. Real databases, real app."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api.console.pages import QUALITY_REPORT_KEY, QualityReportCache
from moderation.clock import utcnow
from moderation.moderators import create_moderator
from tests.learning.test_quality import Seed, seed  # noqa: F401 - `seed` is a fixture
from tests.review.test_console import log_in

FRESH_CODE = "rule.fresh_after_first_view"


def console(app: Flask) -> FlaskClient:
    with app.extensions["vigie"].session_factory() as session:
        moderator, _ = create_moderator(session, "cache@example.org", "Modo", "correct horse battery")
        session.commit()
    client = app.test_client()
    assert log_in(client, moderator.email) == 303
    return client


def stats_page(client: FlaskClient) -> str:
    """The quality report's per-rule table (the page's other charts are not cached)."""
    response = client.get("/console/stats")
    assert response.status_code == 200
    table = re.search(
        r'<table class="quality" id="quality-rules">(.*?)</table>', response.get_data(as_text=True), re.S
    )
    assert table is not None
    return table.group(1)


def test_the_quality_report_is_cached_for_the_metrics_period(
    make_app: Callable[..., Flask],
    seed: Seed,  # noqa: F811 - the fixture imported above
) -> None:
    app = make_app(quality_metrics_cache_s=60.0)
    assert isinstance(app.extensions[QUALITY_REPORT_KEY], QualityReportCache)
    # The same cache on a clock the test moves (the period still comes from the app's settings).
    clock = [1000.0]
    app.extensions[QUALITY_REPORT_KEY] = QualityReportCache(
        app.extensions["vigie"].settings.quality_metrics_cache_s, monotonic=lambda: clock[0]
    )
    client = console(app)
    recent = utcnow() - timedelta(hours=1)
    seed(recent, codes=["rule.first"], labels=[("scam", False)])
    assert "rule.first" in stats_page(client)

    seed(recent, codes=[FRESH_CODE], labels=[("scam", False)])
    clock[0] += 59.0
    assert FRESH_CODE not in stats_page(client)  # within the period: the same report
    clock[0] += 1.0
    assert FRESH_CODE in stats_page(client)


def test_a_zero_period_recomputes_every_view(
    make_app: Callable[..., Flask],
    seed: Seed,  # noqa: F811 - the fixture imported above
) -> None:
    client = console(make_app(quality_metrics_cache_s=0.0))
    recent = utcnow() - timedelta(hours=1)
    seed(recent, codes=["rule.first"], labels=[("scam", False)])
    assert "rule.first" in stats_page(client)
    seed(recent, codes=[FRESH_CODE], labels=[("scam", False)])
    assert FRESH_CODE in stats_page(client)


def test_a_failed_computation_is_not_cached(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    cache = QualityReportCache(ttl_s=60.0)
    # A database without the schema: the report's queries fail, as on a broken connection.
    empty = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        with Session(empty) as session, pytest.raises(OperationalError):
            cache.get(session, utcnow())
    finally:
        empty.dispose()
    with session_factory() as session:
        report = cache.get(session, utcnow())  # within the period, yet computed: nothing was cached
    assert report.rules == [] and report.models == []
