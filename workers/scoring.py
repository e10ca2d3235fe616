"""Score stored revisions and record the verdicts: the work behind the RQ jobs and the API's sync mode.

No database transaction is held while the model runs: the revision is read in one short session,
scored, and the assessment written in another, so slow scoring never blocks SQLite's single writer.
Recording is idempotent per revision, so running this twice (retries, races) is harmless.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from moderation.assessments import record_assessments
from moderation.models import SubmissionRevision
from moderation.submissions import get_revision, to_score_input
from scoring.conversation import ConversationMemory
from scoring.types import Kind, PriorMessage, ScoreContext, ScoreInput, ScoreResult
from workers.signals import Signals

log = logging.getLogger(__name__)


class Scorer(Protocol):
    """What this module needs from `scoring.engine.Scorer`."""

    def score(self, item: ScoreInput, context: ScoreContext | None = None, /) -> ScoreResult: ...

    def score_many(
        self, items: Sequence[ScoreInput], contexts: Sequence[ScoreContext | None] | None = None, /
    ) -> list[ScoreResult]: ...


@dataclass(frozen=True)
class Outcome:
    """What happened to one revision.

    status: "scored" (this call recorded the assessment), "already_scored" (an assessment existed or
    another worker won the race), "missing" (no such revision), "failed" (given up earlier).
    """

    submission_id: str
    revision: int
    status: str
    verdict: str | None = None
    duration_ms: float | None = None
    event_id: str | None = None  # the verdict's webhook outbox event, when this call emitted one

    @property
    def assessed(self) -> bool:
        """True when the revision has an assessment now (recorded here or before)."""
        return self.status in {"scored", "already_scored"}


def score_and_record(
    session_factory: sessionmaker[Session],
    scorer: Scorer,
    submission_id: str,
    revision: int,
    *,
    emit_webhook: bool = True,
    signals: Signals | None = None,
) -> Outcome:
    """Score one stored revision and record its assessment exactly once; commits.

    With `signals`, the item is scored in its context (campaigns, entities, sender, conversation).
    Database errors propagate (they are transient for the caller to retry); see `Outcome`.
    """
    with session_factory() as session:
        row = get_revision(session, submission_id, revision)
        if row is None:
            return Outcome(submission_id, revision, "missing")
        if row.status != "queued":
            return Outcome(
                submission_id, revision, "already_scored" if row.status == "scored" else row.status
            )
        item = to_score_input(row)
    started = time.perf_counter()
    context = signals.collect(session_factory, [item])[0] if signals is not None else None
    # An empty context changes nothing: the plain call keeps context-unaware scorer wrappers working.
    result = scorer.score(item, context) if _has_signals(context) else scorer.score(item)
    duration_ms = (time.perf_counter() - started) * 1000
    return _record_one(session_factory, submission_id, revision, result, duration_ms, emit_webhook)


def score_and_record_many(
    session_factory: sessionmaker[Session],
    scorer: Scorer,
    items: Sequence[tuple[str, int]],
    *,
    emit_webhook: bool = True,
    signals: Signals | None = None,
) -> list[Outcome]:
    """Batch version of `score_and_record`: one read, one `score_many` call, one batch write, one commit.

    Per-job plumbing (Redis round trips, commits) costs more than the model, so batching is where
    throughput comes from. One Outcome per distinct item, in the order of `items`. With `signals`,
    several messages of one conversation in the batch are scored in waves, in batch order, so that
    each sees the earlier ones in its history.
    """
    wanted = list(dict.fromkeys((sid, int(rev)) for sid, rev in items))
    with session_factory() as session:
        rows = session.scalars(
            select(SubmissionRevision).where(
                tuple_(SubmissionRevision.submission_id, SubmissionRevision.revision).in_(wanted)
            )
        ).all()
        by_key = {(r.submission_id, r.revision): r for r in rows}
        todo = [
            (key, to_score_input(by_key[key]))
            for key in wanted
            if key in by_key and by_key[key].status == "queued"
        ]
        skipped = {
            key: Outcome(key[0], key[1], "missing" if key not in by_key else _done_status(by_key[key].status))
            for key in wanted
            if key not in by_key or by_key[key].status != "queued"
        }
    started = time.perf_counter()
    items_only = [item for _, item in todo]
    if signals is not None and todo:
        results = _score_in_context(session_factory, scorer, signals, items_only)
    else:
        results = scorer.score_many(items_only) if todo else []
    per_item_ms = (time.perf_counter() - started) * 1000 / max(1, len(todo))
    done: dict[tuple[str, int], Outcome] = dict(skipped)
    batch = [
        (key[0], key[1], result, per_item_ms) for (key, _item), result in zip(todo, results, strict=True)
    ]
    for key, outcome in _record_batch(session_factory, batch, emit_webhook).items():
        done[key] = outcome
    return [done[key] for key in wanted]


def _record_batch(
    session_factory: sessionmaker[Session],
    batch: list[tuple[str, int, ScoreResult, float]],
    emit_webhook: bool,
) -> dict[tuple[str, int], Outcome]:
    """Record a scored batch in one transaction (a constant number of statements, see
    `record_assessments`). If the batch statement fails on a constraint (a submission deleted while
    it was scored), roll back and record item by item, each in its own transaction, so that one
    vanished row does not cost the others their verdicts; that row's outcome is "missing"."""
    try:
        with session_factory() as session:
            recorded = record_assessments(session, batch, emit_webhook=emit_webhook)
            session.commit()
    except IntegrityError:
        log.warning("batch of %d hit a constraint, recording item by item", len(batch))
        return {
            (sid, rev): _record_one(session_factory, sid, rev, r, ms, emit_webhook)
            for sid, rev, r, ms in batch
        }
    events = {(r.submission_id, r.revision): r.event_id for r in recorded}
    return {
        (sid, rev): Outcome(
            sid,
            rev,
            "scored" if (sid, rev) in events else "already_scored",
            result.verdict.value,
            ms,
            events.get((sid, rev)),
        )
        for sid, rev, result, ms in batch
    }


def _record_one(
    session_factory: sessionmaker[Session],
    submission_id: str,
    revision: int,
    result: ScoreResult,
    duration_ms: float,
    emit_webhook: bool,
) -> Outcome:
    try:
        with session_factory() as session:
            recorded = record_assessments(
                session, [(submission_id, revision, result, duration_ms)], emit_webhook=emit_webhook
            )
            session.commit()
    except IntegrityError:
        with session_factory() as session:
            if get_revision(session, submission_id, revision) is not None:
                raise  # not a vanished row: a real error, for the job to handle
        return Outcome(submission_id, revision, "missing")
    status = "scored" if recorded else "already_scored"
    event_id = recorded[0].event_id if recorded else None
    return Outcome(submission_id, revision, status, result.verdict.value, duration_ms, event_id)


def _score_in_context(
    session_factory: sessionmaker[Session], scorer: Scorer, signals: Signals, items: list[ScoreInput]
) -> list[ScoreResult]:
    """Score `items` with their signals; the n-th message of a conversation in the batch goes in wave n,
    with the results of earlier waves appended to its history (they are not in the database yet)."""
    waves: list[list[int]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        conversation = item.conversation_id if item.kind is Kind.MESSAGE else None
        wave = seen.get(conversation, 0) if conversation else 0
        if conversation:
            seen[conversation] = wave + 1
        while len(waves) <= wave:
            waves.append([])
        waves[wave].append(index)
    results: list[ScoreResult | None] = [None] * len(items)
    memory = ConversationMemory()
    all_contexts = signals.collect(session_factory, items)
    for wave_indices in waves:
        wave_items = [items[i] for i in wave_indices]
        contexts = [_with_earlier(all_contexts[i], memory.history(items[i])) for i in wave_indices]
        if any(_has_signals(c) for c in contexts):
            scored = scorer.score_many(wave_items, contexts)
        else:
            scored = scorer.score_many(wave_items)
        for i, result in zip(wave_indices, scored, strict=True):
            results[i] = result
            memory.record(items[i], result)
    return [r for r in results if r is not None]


def _with_earlier(context: ScoreContext, earlier: tuple[PriorMessage, ...]) -> ScoreContext:
    return dataclasses.replace(context, history=context.history + earlier) if earlier else context


def _has_signals(context: ScoreContext | None) -> bool:
    return context is not None and bool(context.reasons or context.history)


def _done_status(status: str) -> str:
    return "already_scored" if status == "scored" else status
