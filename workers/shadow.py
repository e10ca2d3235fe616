"""Shadow scoring in the worker: a candidate scores the same items, in the same contexts, and only
its verdicts are recorded.

`ShadowScorer` wraps the active scorer. Every `score`/`score_many` call returns the active results
unchanged and also runs the candidate on the same items and `ScoreContext`s (the signals were
collected once, for the active side: collecting them again would count every message twice in
Redis). The pairs wait in memory until the job has recorded the active verdicts; then
`record_pending` writes the shadow rows in a separate transaction. A candidate that raises, or a
shadow write that fails, is logged and counted and changes nothing else: the active verdict, its
warnings, review items and webhooks come from the active side only, and the job still succeeds.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from moderation.settings import Settings
from moderation.shadow import ShadowRow, candidate_name_for, record_shadow_results
from scoring.types import ScoreContext, ScoreInput, ScoreResult
from workers.scoring import Outcome, Scorer

log = logging.getLogger(__name__)

# Results waiting for their job to finish are bounded: a caller that never records (a scorer used
# outside the job path) must not grow the worker's memory without limit.
MAX_PENDING = 10_000


@dataclass
class ShadowCounters:
    """What the shadow side did in this process (exposed for tests and logs)."""

    scored: int = 0
    recorded: int = 0
    candidate_errors: int = 0
    record_errors: int = 0
    ambiguous: int = 0  # one submission scored twice with different content before recording
    dropped: int = field(default=0)  # pending results evicted by MAX_PENDING


class ShadowScorer:
    """The active scorer, plus a candidate whose results are only kept for `record_pending`."""

    def __init__(self, active: Scorer, candidate: Scorer, name: str, max_pending: int = MAX_PENDING) -> None:
        self.active = active
        self.candidate = candidate
        self.name = name
        self.counters = ShadowCounters()
        self._max_pending = max_pending
        # Keyed by submission id (a ScoreInput's id): the job's Outcomes name (submission, revision).
        self._pending: OrderedDict[str, list[tuple[ScoreInput, ScoreResult, ScoreResult]]] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> object:
        # Version attributes and anything else callers read come from the active scorer.
        if name.startswith("_") or name == "active":
            raise AttributeError(name)
        return getattr(self.active, name)

    def score(self, item: ScoreInput, context: ScoreContext | None = None, /) -> ScoreResult:
        result = self.active.score(item, context) if context is not None else self.active.score(item)
        self._shadow([item], None if context is None else [context], [result])
        return result

    def score_many(
        self, items: Sequence[ScoreInput], contexts: Sequence[ScoreContext | None] | None = None, /
    ) -> list[ScoreResult]:
        results = (
            self.active.score_many(items, contexts) if contexts is not None else self.active.score_many(items)
        )
        self._shadow(items, contexts, results)
        return results

    def _shadow(
        self,
        items: Sequence[ScoreInput],
        contexts: Sequence[ScoreContext | None] | None,
        active: Sequence[ScoreResult],
    ) -> None:
        try:
            candidate = (
                self.candidate.score_many(items, contexts)
                if contexts is not None
                else self.candidate.score_many(items)
            )
        except Exception as exc:
            # The message may quote content: the type is enough to find the bug, never the text.
            self.counters.candidate_errors += 1
            log.warning(
                "shadow candidate %s failed on %d items: %s", self.name, len(items), type(exc).__name__
            )
            return
        with self._lock:
            self.counters.scored += len(items)
            for item, a, c in zip(items, active, candidate, strict=True):
                self._pending.setdefault(item.id, []).append((item, a, c))
                self._pending.move_to_end(item.id)
            while sum(len(v) for v in self._pending.values()) > self._max_pending:
                _, evicted = self._pending.popitem(last=False)
                self.counters.dropped += len(evicted)

    def record_pending(self, session_factory: sessionmaker[Session], outcomes: Sequence[Outcome]) -> int:
        """Write the shadow rows of the revisions this job recorded (`status == "scored"`); never raises.

        Pending results of other items (a failed batch, an item another worker recorded first) are
        discarded: a shadow row is only ever written beside an active verdict written by this run.
        """
        with self._lock:
            pending, self._pending = self._pending, OrderedDict()
        rows: list[ShadowRow] = []
        for outcome in outcomes:
            if outcome.status != "scored":
                continue
            entries = pending.get(outcome.submission_id)
            if not entries:
                continue
            # A listing's two revisions in one batch share a submission id; identical content (a
            # retried wave) is unambiguous, different content cannot be matched to a revision.
            if len({entry[0] for entry in entries}) > 1:
                self.counters.ambiguous += 1
                continue
            _item, active, candidate = entries[-1]
            rows.append(ShadowRow(outcome.submission_id, outcome.revision, self.name, active, candidate))
        if not rows:
            return 0
        try:
            with session_factory() as session:
                inserted = record_shadow_results(session, rows)
                session.commit()
        except Exception as exc:
            self.counters.record_errors += 1
            log.warning(
                "shadow rows of %s not recorded (%d items): %s", self.name, len(rows), type(exc).__name__
            )
            return 0
        self.counters.recorded += inserted
        return inserted


def shadow_enabled(settings: Settings) -> bool:
    return bool(settings.shadow_rules_path or settings.shadow_model_path)


def load_candidate(settings: Settings) -> Scorer:
    """The candidate scorer: the shadow rule pack and/or model, the active ones for what is not set."""
    from scoring.engine import Scorer as EngineScorer

    return EngineScorer.load(
        settings.shadow_model_path or settings.model_path or None,
        rules_path=settings.shadow_rules_path or settings.rules_path or None,
        brands_path=settings.brands_path or None,
    )


def wrap_for_shadow(settings: Settings, active: Scorer, candidate: Scorer | None = None) -> Scorer:
    """`active` itself when shadow mode is off; otherwise a ShadowScorer around it.

    A candidate that cannot be loaded (bad rule pack, missing file) must not stop the worker from
    scoring: it is logged and the worker runs without shadow mode.
    """
    if not shadow_enabled(settings):
        return active
    if candidate is None:
        try:
            candidate = load_candidate(settings)
        except Exception as exc:
            log.error("shadow candidate not loaded, shadow mode off: %s: %s", type(exc).__name__, exc)
            return active
    name = settings.shadow_name or candidate_name_for(
        str(getattr(candidate, "rules_version", "?")), str(getattr(candidate, "model_version", "?"))
    )
    log.info("shadow mode on: candidate %s", name)
    return ShadowScorer(active, candidate, name)
