"""Reading a conversation's earlier messages with their assessments, for conversation-level scoring."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from moderation.models import Assessment, Submission
from scoring.conversation import prior_message
from scoring.types import Kind, PriorMessage


def conversation_histories(
    session: Session, submission_ids: Iterable[str], limit: int
) -> dict[str, tuple[PriorMessage, ...]]:
    """For each message submission, the assessed messages of its conversation created before it
    (at most `limit`, oldest first). Submissions without a conversation get no entry.

    One query per conversation; a message not yet assessed (still queued) is not part of anyone's
    history, since its reasons are not known yet.
    """
    ids = sorted(set(submission_ids))
    if not ids:
        return {}
    current = session.execute(
        select(Submission.id, Submission.conversation_id, Submission.created_at).where(
            Submission.id.in_(ids), Submission.kind == Kind.MESSAGE.value
        )
    ).all()
    out: dict[str, tuple[PriorMessage, ...]] = {}
    for sub_id, conversation_id, created_at in current:
        if not conversation_id:
            continue
        rows = session.execute(
            select(Submission.sender_id, Assessment.reasons, Assessment.verdict)
            .join(
                Assessment,
                and_(
                    Assessment.submission_id == Submission.id,
                    Assessment.revision == Submission.current_revision,
                ),
            )
            .where(
                Submission.conversation_id == conversation_id,
                Submission.kind == Kind.MESSAGE.value,
                Submission.id != sub_id,
                Submission.created_at <= created_at,
            )
            .order_by(Submission.created_at.desc(), Submission.id.desc())
            .limit(limit)
        ).all()
        out[sub_id] = tuple(
            prior_message(sender_id, reasons or [], verdict) for sender_id, reasons, verdict in reversed(rows)
        )
    return out
