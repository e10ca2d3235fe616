"""Cost of the quality dashboard's aggregation (moderation.quality.quality_report) on a large table.

    .venv/bin/python bench/bench_quality.py [--rows 200000] [--labelled 0.1] [--database-url URL]

Fills a fresh database (a temporary SQLite file, or the given URL, which must be empty and is
migrated) with `--rows` assessments spread over 14 weeks (so some fall outside the 12-week window),
two kinds, three model versions, one to three reason codes each, and moderator labels on a
`--labelled` share of them; then times `quality_report` (best and median of `--repeat`), which is
what one console statistics page view or one uncached /metrics scrape costs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.db import make_engine, make_session_factory, migrate
from moderation.models import Assessment, Submission
from moderation.quality import quality_report
from moderation.review_models import Decision, Label, ReviewItem
from moderation.settings import Settings

CODES = [
    f"rule.{name}"
    for name in ("paypal_friends", "whatsapp", "sms_code", "fake_delivery", "iban", "lookalike")
]
BATCH = 5000


def fill(settings: Settings, rows: int, labelled: float, now: datetime) -> None:
    rng = random.Random(7)
    engine = make_engine(settings)
    span = timedelta(weeks=14).total_seconds()
    with engine.begin() as conn:
        for start in range(0, rows, BATCH):
            subs: list[dict[str, Any]] = []
            assessments: list[dict[str, Any]] = []
            items: list[dict[str, Any]] = []
            decisions: list[dict[str, Any]] = []
            for n in range(start, min(rows, start + BATCH)):
                sid = f"{n:032d}"
                at = now - timedelta(seconds=rng.random() * span)
                kind = "message" if n % 3 else "listing"
                score = rng.betavariate(1.2, 4.0)
                verdict = (
                    "allow" if score < 0.4 else "warn" if score < 0.6 else "review" if score < 0.8 else "hold"
                )
                subs.append({"id": sid, "kind": kind, "external_id": sid, "created_at": at, "updated_at": at})
                assessments.append(
                    {"submission_id": sid, "revision": 1, "score": score, "verdict": verdict,
                     "categories": [], "reasons": [{"code": c} for c in rng.sample(CODES, rng.randint(1, 3))],
                     "model_version": f"model-{n % 3}", "rules_version": "rules-1", "duration_ms": 1.0,
                     "created_at": at}
                )  # fmt: skip
                if rng.random() < labelled:
                    items.append(
                        {"id": sid, "submission_id": sid, "revision": 1, "kind": kind, "priority": 1.0,
                         "sort_key": 0.0, "categories": [], "sources": [], "due_at": at}
                    )  # fmt: skip
                    decisions.append(
                        {"id": n + 1, "item_id": sid, "submission_id": sid, "revision": 1,
                         "moderator_id": "m", "decision": "confirm_scam", "reason": "other", "actions": {},
                         "categories": []}
                    )  # fmt: skip
            conn.execute(insert(Submission), subs)
            conn.execute(insert(Assessment), assessments)
            if items:
                conn.execute(insert(ReviewItem), items)
                conn.execute(insert(Decision), decisions)
                conn.execute(
                    insert(Label),
                    [{"submission_id": d["submission_id"], "revision": 1, "moderator_id": "m",
                      "decision_id": d["id"], "label": "scam" if rng.random() < 0.7 else "not_scam"}
                     for d in decisions],
                )  # fmt: skip
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--labelled", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'quality.sqlite3'}"
        settings = Settings(data_dir=Path(tmp), database_url=url)
        migrate(url)
        now = datetime.now(UTC)
        started = time.perf_counter()
        fill(settings, args.rows, args.labelled, now)
        print(f"filled {args.rows} assessments in {time.perf_counter() - started:.1f} s")
        engine = make_engine(settings)
        factory = make_session_factory(engine)
        timings = []
        for _ in range(args.repeat):
            with factory() as session:
                t0 = time.perf_counter()
                report = quality_report(session, now)
                timings.append(time.perf_counter() - t0)
        engine.dispose()
    print(f"database: {engine.dialect.name}, rows: {args.rows}, labelled share: {args.labelled}")
    best, median = min(timings) * 1000, statistics.median(timings) * 1000
    print(f"quality_report: best {best:.0f} ms, median {median:.0f} ms")
    print(f"rules: {len(report.rules)}, models: {len(report.models)}, kinds: {len(report.drift)}")


if __name__ == "__main__":
    main()
