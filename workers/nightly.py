"""Retraining from moderator labels: the shared routine of `vigie model train` and the nightly job.

`retrain` reads the labels and the fixtures, trains a TextModel candidate (pure code in
`scoring.label_training`), evaluates it and the model serving now on the same held-out split,
registers it, and with `promote=True` promotes it through the gate and asks the workers to reload.

Scheduling (`VIGIE_NIGHTLY_RETRAIN=1`): RQ's own scheduler, which a worker runs when started with
`with_scheduler` (one scheduler per queue holds a Redis lock, so several workers do not enqueue
twice). `schedule_next` puts `retrain_from_labels` on the score queue at the next
`VIGIE_NIGHTLY_RETRAIN_HOUR_UTC` (default 03:00 UTC) under a per-day job id; the job schedules the
following night's run when it ends, whatever its outcome. A run killed mid-way never reaches that
step, so the workers' sweeper (`workers.sweeper.sweep_once`) also calls `schedule_next` on every
pass: the per-night job id makes that a no-op while the next night is already scheduled.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job
from sqlalchemy.orm import Session, sessionmaker

from moderation import labels as label_export
from moderation import model_registry
from moderation.clock import utcnow
from moderation.settings import Settings
from scoring import label_training, training
from scoring.model import TextModel, content_version, expected_versions, serialize_params
from workers.scorer_reload import GENERATION_KEY, request_reload

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = PROJECT_ROOT / "fixtures" / "corpus"
NIGHTLY_ACTOR = "system:nightly"
NIGHTLY_JOB_PREFIX = "nightly-retrain-"
# Training on the fixtures plus labels takes seconds to minutes; far above a scoring job's timeout.
NIGHTLY_JOB_TIMEOUT_S = 3600
RELOAD_KEY = GENERATION_KEY  # bumped by `request_reload` after a promotion


@dataclass(frozen=True)
class RetrainOutcome:
    version: str
    status: str  # the candidate's registry status after this run
    gate: dict[str, Any]
    table: str  # Markdown comparison of the candidate and the active model
    promoted: bool
    refused: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "status": self.status,
            "gate": self.gate,
            "promoted": self.promoted,
            "refused": self.refused,
        }


def corpus_rows(directory: Path) -> list[dict[str, Any]]:
    """Message and listing rows of the `*.jsonl` files under `directory`."""
    rows: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    if row.get("kind") in ("message", "listing") and row.get("text"):
                        rows.append(row)
    return rows


def label_examples(items: list[label_export.LabelledContent]) -> list[label_training.LabelExample]:
    """Labels in model input form (listings: title + text, like the fixtures)."""
    return [
        label_training.LabelExample(
            text=training.model_text(item.text, item.title if item.kind == "listing" else None),
            label=1 if item.label == "scam" else 0,
            group=item.group,
            source=f"labels:{item.source}",
        )
        for item in items
    ]


def serving_text_model(settings: Settings, session: Session) -> tuple[TextModel, str]:
    """The TextModel workers serve now, and where it comes from ("registry" or "shipped").

    An explicit `VIGIE_MODEL_PATH` wins (an operator pinned it), then the registry's active model,
    then the artifact shipped in the package.
    """
    if settings.model_path:
        return TextModel.load(settings.model_path), model_registry.SHIPPED
    path = model_registry.active_model_path(session, "text", settings.data_dir / "models")
    if path is not None:
        return TextModel.load(str(path)), "registry"
    return TextModel.load(), model_registry.SHIPPED


def retrain(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    actor: str,
    promote: bool = False,
    corpus_dir: Path = DEFAULT_CORPUS,
    config: training.TrainConfig | None = None,
    redis: Redis | None = None,
    now: datetime | None = None,
    transform: Callable[[list[training.Example]], list[training.Example]] | None = None,
) -> RetrainOutcome:
    """Train a candidate on fixtures + labels, register it, and promote it through the gate if asked.

    `transform` rewrites the training examples before fitting (tests use it to build a deliberately
    bad model with flipped labels); the held-out split is never transformed.
    """
    # A bad VIGIE_PROMOTE_PRECISION_TOLERANCE fails before minutes of training, not after.
    label_training.check_precision_tolerance(settings.promote_precision_tolerance)
    now = now or utcnow()
    config = config or training.TrainConfig()
    with session_factory() as session:
        labelled = label_export.export_labels(session)
        active_model, active_source = serving_text_model(settings, session)
    fixture_train = training.fixture_examples(corpus_rows(corpus_dir / "train"))
    fixture_dev = training.fixture_examples(
        label_training.dev_holdout_rows(corpus_rows(corpus_dir / "holdout"))
    )
    if transform is not None:
        fixture_train = transform(fixture_train)
    examples = label_examples(labelled)
    if transform is not None:
        # Only the training part of the labels goes through `transform`; held-out groups stay true.
        examples = [
            ex if label_training.label_is_held_out(ex.group) else _relabel(ex, transform) for ex in examples
        ]
    result = label_training.train_with_labels(fixture_train, fixture_dev, examples, config)

    blob = serialize_params(result.params)
    metadata: dict[str, Any] = {
        "training": result.report.to_dict(),
        "config": {"n_bits": config.n_bits, "c": config.c, "folds": config.folds, "seed": config.seed},
        "built_by": "vigie model train (fixtures + labels)",
        **expected_versions("text"),
        "version": content_version("text", blob),
        "threshold": result.params.threshold,
    }
    candidate = TextModel(result.params, metadata)
    cand_figures = label_training.evaluate_model(candidate.predict_many, candidate.threshold, result.held_out)
    active_figures = label_training.evaluate_model(
        active_model.predict_many, active_model.threshold, result.held_out
    )
    evaluation = model_registry.Evaluation(
        candidate=cand_figures,
        active=active_figures,
        active_version=active_model.version,
        active_source=active_source,
        precision_tolerance=settings.promote_precision_tolerance,
    )
    trained_on = {
        "fixtures": result.n_fixtures,
        "label_train": result.n_label_train,
        "held_out": {name: len(rows) for name, rows in result.held_out.items()},
        **label_export.label_summary(labelled),
    }
    refused: list[str] = []
    promoted = False
    with session_factory() as session:
        row = model_registry.register_candidate(
            session,
            kind="text",
            artifact=blob,
            metadata=metadata,
            evaluation=evaluation,
            trained_on=trained_on,
            actor=actor,
            now=now,
        )
        session.commit()
        if promote:
            try:
                model_registry.promote(
                    session,
                    row.version,
                    actor,
                    now,
                    precision_tolerance=settings.promote_precision_tolerance,
                )
                promoted = True
            except model_registry.PromotionRefused as exc:
                refused = exc.reasons
            session.commit()  # the promotion, or the `rejected` status the gate set
        status = row.status
    if promoted and redis is not None:
        request_reload(redis, f"promoted {row.version}")
    gate = row.metrics["gate"]
    table = label_training.comparison_table(cand_figures, active_figures)
    return RetrainOutcome(row.version, status, gate, table, promoted, refused)


def _relabel(
    ex: label_training.LabelExample, transform: Callable[[list[training.Example]], list[training.Example]]
) -> label_training.LabelExample:
    (changed,) = transform([training.Example(ex.text, ex.label, ex.source, group=ex.group)])
    return label_training.LabelExample(ex.text, changed.label, ex.group, ex.source)


# --- the nightly job and its schedule -----------------------------------------------------------------


def next_run_at(now: datetime, hour_utc: int) -> datetime:
    """The next `hour_utc`:00 UTC strictly after `now`."""
    at = now.replace(hour=hour_utc, minute=0, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def schedule_next(queue: Queue, settings: Settings, now: datetime | None = None) -> Job | None:
    """Schedule the next nightly run on `queue`, once per night (job id `nightly-retrain-YYYYMMDD`).

    Needs a worker started with RQ's scheduler (`run_worker` does it when `VIGIE_NIGHTLY_RETRAIN=1`).
    Returns None when that night's run is already scheduled.
    """
    at = next_run_at(now or utcnow(), settings.nightly_retrain_hour_utc)
    job_id = f"{NIGHTLY_JOB_PREFIX}{at:%Y%m%d}"
    if Job.exists(job_id, connection=queue.connection):
        return None
    return queue.enqueue_at(
        at,
        retrain_from_labels,
        job_id=job_id,
        job_timeout=NIGHTLY_JOB_TIMEOUT_S,
        result_ttl=7 * 24 * 3600,
        failure_ttl=7 * 24 * 3600,
    )


def retrain_from_labels() -> dict[str, Any]:
    """RQ job: retrain on the labels, promote only through the gate, schedule the next night."""
    from workers.context import current_context

    ctx = current_context()
    try:
        outcome = retrain(
            ctx.settings, ctx.session_factory, actor=NIGHTLY_ACTOR, promote=True, redis=ctx.redis
        )
        log.info("nightly retrain: %s", json.dumps(outcome.to_dict()))
        return outcome.to_dict()
    finally:
        if ctx.settings.nightly_retrain:
            schedule_next(ctx.score_queue, ctx.settings)
