"""Reading a conversation's earlier messages with their assessments, for conversation-level scoring."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from moderation.models import Assessment, Submission
from scoring.conversation import prior_message
from scoring.types import Kind, PriorMessage


def conversation_histories(
    session: Session, conversations: Mapping[str, str], limit: int
) -> dict[str, tuple[PriorMessage, ...]]:
    """For each message submission (`conversations`: submission id -> its conversation id), the
    assessed messages of its conversation created before it, at most `limit`, oldest first.

    One query per batch, bounded by `limit` rows per conversation. A message not assessed yet (still
    queued) is not part of anyone's history, since its reasons are not known yet.
    """
    wanted = sorted(set(conversations.values()))
    if not wanted:
        return {}
    # Outer join: the batch's own (unassessed) submissions come back too, with their creation time.
    rows = session.execute(
        select(
            Submission.id,
            Submission.conversation_id,
            Submission.created_at,
            Submission.sender_id,
            Assessment.reasons,
            Assessment.verdict,
        )
        .outerjoin(
            Assessment,
            and_(
                Assessment.submission_id == Submission.id,
                Assessment.revision == Submission.current_revision,
            ),
        )
        .where(Submission.conversation_id.in_(wanted), Submission.kind == Kind.MESSAGE.value)
        .order_by(Submission.created_at.desc(), Submission.id.desc())
        .limit((limit + len(conversations)) * len(wanted))
    ).all()
    created: dict[str, datetime] = {}
    assessed: dict[str, list[tuple[str, datetime, PriorMessage]]] = {}
    for sub_id, conversation_id, created_at, sender_id, reasons, verdict in rows:
        created[sub_id] = created_at
        if verdict is not None:
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
