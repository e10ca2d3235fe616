"""The worker process's long-lived state, built once by the entry point before any job runs.

Jobs take ids only; everything heavy (the loaded model, the engine and its pool, Redis clients)
lives here so it is created once per process, not once per job.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from rq import Queue
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from moderation.db import make_engine, make_session_factory
from moderation.settings import Settings
from workers.queues import make_redis, score_queue, webhook_queue
from workers.scorer_reload import ReloadingScorer
from workers.scoring import Scorer
from workers.shadow import wrap_for_shadow
from workers.signals import Signals


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    scorer: Scorer
    redis: Redis
    score_queue: Queue
    webhook_queue: Queue
    # Campaign/entity/sender/conversation signals; None scores on content alone.
    signals: Signals | None = None


_current: WorkerContext | None = None


def load_scorer(settings: Settings) -> Scorer:
    """Load the scorer: text model from `settings.model_path`, else the registry's active model
    (cached under the data dir, hash-checked), else the shipped artifact."""
    from moderation.model_registry import serving_model_path
    from scoring.engine import Scorer as EngineScorer

    registry_path = None if settings.model_path else serving_model_path(settings, "text")
    return EngineScorer.load(
        settings.model_path or (str(registry_path) if registry_path else None),
        rules_path=settings.rules_path or None,
        brands_path=settings.brands_path or None,
    )


def build_context(settings: Settings, scorer: Scorer | None = None) -> WorkerContext:
    """Create engine, Redis client and queues from `settings`; load the model unless `scorer` is given.

    A loaded Scorer is wrapped in a `ReloadingScorer` (rule files and `vigie rules reload` apply without
    a restart); a given `scorer` is used as is."""
    engine = make_engine(settings)
    redis = make_redis(settings.redis_url)
    return WorkerContext(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        # With VIGIE_SHADOW_* set, a wrapper also scores with the candidate (workers/shadow.py).
        scorer=wrap_for_shadow(
            settings, scorer if scorer is not None else ReloadingScorer(settings, load_scorer(settings))
        ),
        redis=redis,
        score_queue=score_queue(redis, settings),
        webhook_queue=webhook_queue(redis, settings),
        signals=Signals(settings) if settings.signals_enabled else None,
    )


def set_context(context: WorkerContext | None) -> None:
    """Install (or clear, with None) the context jobs in this process use."""
    global _current
    _current = context


def current_context() -> WorkerContext:
    """The installed context; raises RuntimeError when the process was not started as a worker."""
    if _current is None:
        raise RuntimeError("no worker context: start workers with workers.worker.run_worker(settings)")
    return _current
