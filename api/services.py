"""The API's service registry: everything a request needs, built once per app in the factory.

`create_app` builds a `Services` and stores it in `app.extensions["vigie"]`; views reach it
through `services()`. Building it connects to nothing (SQLAlchemy engines, redis-py
clients and RQ queues are lazy), and the Scorer is loaded on first use, so creating an app
is cheap and import-time side effects are nil. Tests build apps from their own `Settings`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from flask import current_app, g
from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from moderation.keys import PrincipalCache
from moderation.settings import Settings

if TYPE_CHECKING:
    from rq import Queue

    from api.instrumentation import ApiMetrics
    from api.ratelimit import RateLimiter
    from scoring.engine import Scorer

EXTENSION_KEY = "vigie"


class ScorerProvider:
    """Loads the Scorer once per process, on first use, from any thread (double-checked lock)."""

    def __init__(self, loader: Callable[[], Scorer]) -> None:
        self._loader = loader
        self._scorer: Scorer | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._scorer is not None

    def get(self) -> Scorer:
        """The process's Scorer; the first call pays the model load (~0.5 s)."""
        scorer = self._scorer
        if scorer is None:
            with self._lock:
                if self._scorer is None:
                    self._scorer = self._loader()
                scorer = self._scorer
        return scorer

    def close(self) -> None:
        """Stop the loaded Scorer's reload watcher, if it has one."""
        close = getattr(self._scorer, "close", None)
        if close is not None:
            close()

    def warm_up(self) -> None:
        """Load the Scorer and score two samples: the first score call pays lazy initialisation
        (~0.5 s), which would otherwise land on the first ?mode=sync request and miss its budget."""
        from scoring.types import Kind, ScoreInput

        scorer = self.get()
        scorer.score(
            ScoreInput(id="warm-up-fr", kind=Kind.MESSAGE, text="Bonjour, toujours dispo ?", lang="fr")
        )
        scorer.score(ScoreInput(id="warm-up-en", kind=Kind.LISTING, text="Bike for sale", title="Bike"))


def default_scorer_loader(
    settings: Settings, on_swap: Sequence[Callable[[object | None, object], None]] = ()
) -> Callable[[], Scorer]:
    """A loader for the shipped model (or `settings.model_path` when set)."""

    def load() -> Scorer:
        # The same loader as the worker's, so both paths always score with the same model; the same
        # reloader too, so ?mode=sync follows rule edits and `vigie rules reload` as workers do.
        from workers.context import load_scorer
        from workers.scorer_reload import ReloadingScorer

        return cast("Scorer", ReloadingScorer(settings, load_scorer(settings), on_swap=on_swap))

    return load


@dataclass
class Services:
    """Per-app handles; one instance per Flask app (hence per gunicorn worker process)."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    redis: Redis
    fast_redis: Redis  # sub-second timeouts: rate limiting and readiness, both optional per request
    queue: Queue
    webhook_queue: Queue
    rate_limiter: RateLimiter
    metrics: ApiMetrics
    scorer: ScorerProvider
    principals: PrincipalCache
    # Sync-mode scoring runs here so the request thread can stop waiting at the budget.
    sync_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="vigie-sync")
    )

    def close(self) -> None:
        """Release pooled connections and the sync pool (tests, and process shutdown)."""
        self.sync_pool.shutdown(wait=True, cancel_futures=True)
        self.scorer.close()
        self.engine.dispose()
        self.redis.close()
        self.fast_redis.close()

    def session(self) -> Session:
        """The request's database session (one per request, closed at teardown)."""
        session: Session | None = g.get("db_session")
        if session is None:
            session = self.session_factory()
            g.db_session = session
        return session


def services() -> Services:
    """The current app's services (inside a request or app context)."""
    return cast(Services, current_app.extensions[EXTENSION_KEY])


def close_request_session(_exc: BaseException | None = None) -> None:
    """teardown_appcontext hook: give the request's connection back to the pool."""
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
