"""The statistics page in headless Chromium: seeded assessments and moderator labels give the
per-rule precision table, the per-model table and the weekly PSI chart (inline SVG); a hostile
reason code stays inert text, and the page runs under its Content-Security-Policy without a single
violation. A screenshot is left in var/test-output/console-stats.png for a human to look at."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from moderation.clock import utcnow
from moderation.quality import MIN_WEEK_COUNT
from tests.browser.conftest import PASSWORD, Stack
from tests.learning.test_quality import (  # noqa: F401 - `seed` is a fixture
    HOSTILE_CODE,
    Seed,
    _scores,
    seed,
    seed_precision_case,
    seed_scores,
)

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "var" / "test-output" / "console-stats.png"
# Collects CSP violations from the page itself; init scripts are injected by the browser, outside
# the page's script-src, so this runs whatever the policy.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def test_statistics_page_shows_quality_tables_and_drift_chart_under_the_csp(
    page: Any,
    stack: Stack,
    seed: Seed,  # noqa: F811 - the fixture imported above
    session_factory: sessionmaker[Session],
) -> None:
    now = utcnow()
    seed_precision_case(seed, now, code=HOSTILE_CODE)
    # Two full weeks of scores, the second shifted upwards: the chart has a PSI point above the alert.
    seed_scores(session_factory, now - timedelta(weeks=2), _scores(0.0, 0.6, MIN_WEEK_COUNT), "allow")
    seed_scores(session_factory, now - timedelta(weeks=1), _scores(0.4, 1.0, MIN_WEEK_COUNT), "warn")

    console: list[str] = []
    dialogs: list[str] = []
    page.on(
        "console",
        lambda message: console.append(f"{message.type}: {message.text} ({message.location.get('url')})"),
    )
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(CSP_LISTENER)

    page.goto(f"{stack.base_url}/console/login?next=/console/stats")
    page.fill("input[name=email]", stack.moderator_email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#quality-rules")
    assert page.url.endswith("/console/stats")

    rules = page.locator("#quality-rules")
    assert rules.is_visible()
    hostile_row = rules.locator("tbody tr").filter(has_text=HOSTILE_CODE)
    assert hostile_row.count() == 1
    # Labelled 3, scam 2, precision 67 % (seed_precision_case), the code shown as text.
    assert [c.strip() for c in hostile_row.locator("td").all_inner_texts()[:4]] == [
        HOSTILE_CODE,
        "3",
        "2",
        "67 %",
    ]
    assert page.locator("#quality-rules script, #precision-chart script, main script").count() == 0

    models = page.locator("#quality-models")
    assert models.is_visible()
    model_versions = models.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.version)")
    assert "model-a" in model_versions and "model-drift" in model_versions

    chart = page.locator("svg#drift-chart")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 50
    assert chart.locator("polyline").count() >= 1  # one series per kind
    assert chart.locator("circle").count() >= 1  # the shifted week's PSI point
    assert page.locator("#psi-badges .psi-alert").count() >= 1

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    assert dialogs == []
    assert page.evaluate("window.__cspViolations") == []
    # Chromium asks for /favicon.ico on its own (the console has none): not an error of the page.
    errors = [line for line in console if line.startswith("error") and "/favicon.ico)" not in line]
    assert [line for line in console if "Content Security Policy" in line] == [] and errors == []

    # The listener is live: an image from another origin (img-src 'self' data:) is reported.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=\"http://127.0.0.2:9/x.png\">')")
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__cspViolations")[0].startswith("img-src")
