"""Reading a conversation's earlier messages with their assessments, for conversation-level scoring."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from moderation.models import Assessment, Submission
from scoring.conversation import prior_message
from scoring.types import Category, Kind, PriorMessage, Verdict


class StepCategoriesCache:
    """Process-local memory of each assessed revision's step categories (`prior_message` of its
    stored reasons); the oldest entries go first once full.

    A verdict's reasons never change once recorded (retention only blanks their evidence, never
    categories or weights), so a worker need not read and JSON-decode the same earlier messages'
    reasons for every batch of the conversation: with the history limit at 30, that was ~20
    decodes per scored message, more than scoring it (py-spy under `make load`). Oldest-first
    eviction suits histories: they keep the newest messages of a conversation.
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[str, int], frozenset[Category]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> frozenset[Category] | None:
        return self._entries.get(key)  # one dict read: atomic, no lock needed

    def put(self, key: tuple[str, int], categories: frozenset[Category]) -> None:
        with self._lock:
            self._entries[key] = categories
            excess = len(self._entries) - self.max_entries
            if excess > 0:
                for old in list(itertools.islice(self._entries, excess)):
                    del self._entries[old]

    def __len__(self) -> int:
        return len(self._entries)


def conversation_histories(
    session: Session,
    conversations: Mapping[str, str],
    limit: int,
    cache: StepCategoriesCache | None = None,
) -> dict[str, tuple[PriorMessage, ...]]:
    """For each message submission (`conversations`: submission id -> its conversation id), the
    assessed messages of its conversation created before it, at most `limit`, oldest first.

    Two or three queries per batch (the third reads the reasons `cache` does not know). A message
    not assessed yet (still queued) is not part of anyone's history: its reasons are not known yet.

    Per conversation, with `lo`/`hi` the earliest/latest creation time of the batch's messages in
    it, the rows read are the `limit + k` newest assessed ones created at or before `lo` (k: the
    batch's messages there, which may be among them) plus every assessed one in (`lo`, `hi`]
    (usually none: those are the batch's own). That is exactly what each message's history needs,
    and bounded per conversation: the previous single query capped rows for the whole batch at
    (limit + batch) x conversations, up to ~80 assessments read and JSON-decoded per
    scored message (a third of a worker's CPU, py-spy), most of them thrown away.
    """
    wanted = sorted(set(conversations.values()))
    if not wanted:
        return {}
    batch = (
        select(
            Submission.conversation_id.label("conversation_id"),
            func.min(Submission.created_at).label("lo"),
            func.max(Submission.created_at).label("hi"),
            func.count().label("k"),
        )
        .where(Submission.id.in_(sorted(conversations)))
        .group_by(Submission.conversation_id)
        .cte("batch")
    )
    # Rank the rows at or before `lo` apart from the later ones, newest first, per conversation.
    at_or_before = Submission.created_at <= batch.c.lo
    ranked = (
        select(
            Submission.id,
            Submission.conversation_id,
            Submission.created_at,
            Submission.sender_id,
            Assessment.revision,
            Assessment.verdict,
            batch.c.lo,
            batch.c.k,
            func.row_number()
            .over(
                partition_by=(Submission.conversation_id, at_or_before),
                order_by=(Submission.created_at.desc(), Submission.id.desc()),
            )
            .label("rn"),
        )
        .join(batch, batch.c.conversation_id == Submission.conversation_id)
        .join(
            Assessment,
            and_(
                Assessment.submission_id == Submission.id,
                Assessment.revision == Submission.current_revision,
            ),
        )
        .where(Submission.kind == Kind.MESSAGE.value, Submission.created_at <= batch.c.hi)
        .subquery()
    )
    rows = session.execute(
        select(
            ranked.c.id,
            ranked.c.conversation_id,
            ranked.c.created_at,
            ranked.c.sender_id,
            ranked.c.revision,
            ranked.c.verdict,
        )
        .where(or_(ranked.c.created_at > ranked.c.lo, ranked.c.rn <= limit + ranked.c.k))
        .order_by(ranked.c.created_at.desc(), ranked.c.id.desc())
    ).all()
    created: dict[str, datetime] = dict(
        session.execute(
            select(Submission.id, Submission.created_at).where(Submission.id.in_(sorted(conversations)))
        ).all()
    )
    steps = _step_categories(session, [(row.id, row.revision) for row in rows], cache)
    assessed: dict[str, list[tuple[str, datetime, PriorMessage]]] = {}
    verdicts = {v.value: v for v in Verdict}
    for sub_id, conversation_id, created_at, sender_id, revision, verdict in rows:
        prior = PriorMessage(sender_id, steps.get((sub_id, revision), frozenset()), verdicts.get(verdict))
        assessed.setdefault(conversation_id, []).append((sub_id, created_at, prior))
    out: dict[str, tuple[PriorMessage, ...]] = {}
    for sub_id, conversation_id in conversations.items():
        at = created.get(sub_id)
        earlier = [
            prior
            for other_id, other_at, prior in assessed.get(conversation_id, [])
            if other_id != sub_id and (at is None or other_at <= at)
        ][:limit]
        out[sub_id] = tuple(reversed(earlier))
    return out


def _step_categories(
    session: Session, keys: list[tuple[str, int]], cache: StepCategoriesCache | None
) -> dict[tuple[str, int], frozenset[Category]]:
    """Step categories of these assessed (submission id, revision): from `cache`, else read."""
    found: dict[tuple[str, int], frozenset[Category]] = {}
    missing: set[tuple[str, int]] = set()
    for key in keys:
        known = cache.get(key) if cache is not None else None
        if known is None:
            missing.add(key)
        else:
            found[key] = known
    if missing:
        rows = session.execute(
            select(Assessment.submission_id, Assessment.revision, Assessment.reasons).where(
                Assessment.submission_id.in_(sorted({sid for sid, _ in missing}))
            )
        ).all()
        for sub_id, revision, reasons in rows:
            key = (sub_id, revision)
            if key not in missing:
                continue
            categories = prior_message(None, reasons or []).categories
            found[key] = categories
            if cache is not None:
                cache.put(key, categories)
    return found
