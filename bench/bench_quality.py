"""Cost of the quality dashboard's aggregation (moderation.quality.quality_report) on a large table.

    .venv/bin/python bench/bench_quality.py [--rows 200000] [--labelled 0.1] [--span-weeks 14]
        [--order time|random] [--compare-index ix_assessments_created_at [--rounds 3]]
        [--database-url URL]

Fills a fresh database (a temporary SQLite file, or the given URL, which must be empty and is
migrated) with `--rows` assessments spread over `--span-weeks` weeks (default 14, so some fall
outside the 12-week window; 52 is a year of history, where the window is under a quarter),
two kinds, three model versions, one to three reason codes each, and moderator labels on a
`--labelled` share of them, inserted in time order as the service writes them (`--order random`
scatters each week over the whole table); runs ANALYZE (PostgreSQL's autovacuum would); then times
`quality_report` and each of its three parts (best and median of `--repeat`), which is what one
console statistics page view or one uncached /metrics scrape costs. `--compare-index NAME` also
times the same database without that index, dropping and re-creating it between `--rounds`.
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

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.db import make_engine, make_session_factory, migrate
from moderation.models import Assessment, Submission
from moderation.quality import quality_report, rule_quality, score_drift, version_quality, week_starts
from moderation.review_models import Decision, Label, ReviewItem
from moderation.settings import Settings

CODES = [
    f"rule.{name}"
    for name in ("paypal_friends", "whatsapp", "sms_code", "fake_delivery", "iban", "lookalike")
]
BATCH = 5000


def fill(
    settings: Settings, rows: int, labelled: float, now: datetime, span_weeks: float = 14, order: str = "time"
) -> None:
    rng = random.Random(7)
    engine = make_engine(settings)
    span = timedelta(weeks=span_weeks).total_seconds()
    ages = [rng.random() * span for _ in range(rows)]
    if order == "time":
        ages.sort(reverse=True)  # the oldest first: row ids grow with created_at, as in service
    with engine.begin() as conn:
        for start in range(0, rows, BATCH):
            subs: list[dict[str, Any]] = []
            assessments: list[dict[str, Any]] = []
            items: list[dict[str, Any]] = []
            decisions: list[dict[str, Any]] = []
            for n in range(start, min(rows, start + BATCH)):
                sid = f"{n:032d}"
                at = now - timedelta(seconds=ages[n])
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


def time_parts(
    factory: Any, now: datetime, repeat: int, timings: dict[str, list[float]] | None = None
) -> dict[str, list[float]]:
    """Run quality_report and each of its parts `repeat` times, appending seconds to `timings`."""
    days = week_starts(now)
    since = datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC)
    parts: dict[str, Any] = {
        "quality_report": lambda s: quality_report(s, now),
        "  score_drift": lambda s: score_drift(s, days),
        "  version_quality": lambda s: version_quality(s, since),
        "  rule_quality": lambda s: rule_quality(s, since),
    }
    timings = timings if timings is not None else {name: [] for name in parts}
    for _ in range(repeat):
        for name, part in parts.items():
            with factory() as session:
                t0 = time.perf_counter()
                part(session)
                timings[name].append(time.perf_counter() - t0)
    return timings


def _analyze(engine: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--labelled", type=float, default=0.1)
    parser.add_argument("--span-weeks", type=float, default=14.0)
    parser.add_argument("--order", choices=["time", "random"], default="time")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--compare-index",
        default="",
        metavar="NAME",
        help="also time without this index of the assessments table, alternating over --rounds",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'quality.sqlite3'}"
        settings = Settings(data_dir=Path(tmp), database_url=url)
        migrate(url)
        now = datetime.now(UTC)
        started = time.perf_counter()
        fill(settings, args.rows, args.labelled, now, args.span_weeks, args.order)
        print(f"filled {args.rows} assessments in {time.perf_counter() - started:.1f} s")
        engine = make_engine(settings)
        _analyze(engine)
        factory = make_session_factory(engine)
        variants: dict[str, dict[str, list[float]] | None] = {"as migrated": None}
        if args.compare_index:
            # Alternate with and without the index, so load drifting on a shared machine hits both.
            (index,) = [
                i for i in Assessment.metadata.tables["assessments"].indexes if i.name == args.compare_index
            ]
            variants[f"without {index.name}"] = None
            for _ in range(args.rounds):
                variants["as migrated"] = time_parts(factory, now, args.repeat, variants["as migrated"])
                with engine.begin() as conn:
                    index.drop(conn)
                _analyze(engine)
                variants[f"without {index.name}"] = time_parts(
                    factory, now, args.repeat, variants[f"without {index.name}"]
                )
                with engine.begin() as conn:
                    index.create(conn)
                _analyze(engine)
        else:
            variants["as migrated"] = time_parts(factory, now, args.repeat)
        with factory() as session:
            report = quality_report(session, now)
        engine.dispose()
    print(
        f"database: {engine.dialect.name}, rows: {args.rows} over {args.span_weeks:g} weeks"
        f" ({args.order} order), labelled share: {args.labelled}"
    )
    for variant, timings in variants.items():
        print(f"[{variant}]")
        for name, values in (timings or {}).items():
            best, median = min(values) * 1000, statistics.median(values) * 1000
            print(f"{name}: best {best:.0f} ms, median {median:.0f} ms (n={len(values)})")
    print(f"rules: {len(report.rules)}, models: {len(report.models)}, kinds: {len(report.drift)}")


if __name__ == "__main__":
    main()
