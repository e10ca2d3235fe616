"""Reading a conversation's earlier messages with their assessments, for conversation-level scoring."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from moderation.models import Assessment, Submission
from scoring.conversation import prior_message
from scoring.types import Kind, PriorMessage


def conversation_histories(
    session: Session, conversations: Mapping[str, str], limit: int
) -> dict[str, tuple[PriorMessage, ...]]:
    """For each message submission (`conversations`: submission id -> its conversation id), the
    assessed messages of its conversation created before it, at most `limit`, oldest first.

    Two queries per batch. A message not assessed yet (still queued) is not part of anyone's
    history, since its reasons are not known yet.

    Per conversation, with `lo`/`hi` the earliest/latest creation time of the batch's messages in
    it, the rows read are the `limit + k` newest assessed ones created at or before `lo` (k: the
    batch's messages there, which may be among them) plus every assessed one in (`lo`, `hi`]
    (usually none: those are the batch's own). That is exactly what each message's history needs,
    and bounded per conversation: the previous single query capped rows for the whole batch at
    (limit + batch) x conversations, so under load it read and JSON-decoded ~80 assessments per
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
            Assessment.reasons,
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
            ranked.c.reasons,
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
    assessed: dict[str, list[tuple[str, datetime, PriorMessage]]] = {}
    for sub_id, conversation_id, created_at, sender_id, reasons, verdict in rows:
        prior = prior_message(sender_id, reasons or [], verdict)
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
