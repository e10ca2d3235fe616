"""`conversation_histories` on a real database: the bounded per-conversation query returns exactly
what reading every assessed message of the conversation would (the reference below)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moderation.clock import utcnow
from moderation.conversation_history import conversation_histories
from moderation.models import Assessment, Submission
from scoring.conversation import prior_message
from scoring.types import PriorMessage

CATEGORIES = ["off_platform", "account_takeover", "external_payment", "fake_secure_payment"]


def reference(
    session: Session, conversations: dict[str, str], limit: int
) -> dict[str, tuple[PriorMessage, ...]]:
    """Every assessed message of the conversation created at or before the submission, newest
    `limit` of them (ties: larger id first), oldest first."""
    out = {}
    for sub_id, conversation in conversations.items():
        at = session.scalar(select(Submission.created_at).where(Submission.id == sub_id))
        rows = session.execute(
            select(
                Submission.id,
                Submission.created_at,
                Submission.sender_id,
                Assessment.reasons,
                Assessment.verdict,
            )
            .join(Assessment, Assessment.submission_id == Submission.id)
            .where(Submission.conversation_id == conversation, Submission.kind == "message")
        ).all()
        eligible = sorted(
            (r for r in rows if r.id != sub_id and r.created_at <= at), key=lambda r: (r.created_at, r.id)
        )
        chosen = eligible[-limit:] if limit else []
        out[sub_id] = tuple(prior_message(r.sender_id, r.reasons, r.verdict) for r in chosen)
    return out


def add_message(
    session: Session, n: int, conversation: str, at: datetime, assessed: bool, rng: random.Random
) -> str:
    sub_id = f"s{n:05d}"
    session.add(
        Submission(
            id=sub_id,
            kind="message",
            external_id=f"hist-{n}",
            conversation_id=conversation,
            sender_id=rng.choice(["scammer", "victim"]),
            created_at=at,
            updated_at=at,
        )
    )
    session.flush()  # the assessment's foreign key needs the submission first
    if assessed:
        category = rng.choice(CATEGORIES)
        session.add(
            Assessment(
                submission_id=sub_id,
                revision=1,
                score=0.5,
                verdict=rng.choice(["allow", "warn", "hold"]),
                categories=[category],
                reasons=[{"code": f"t.{category}", "category": category, "weight": 0.6}],
                model_version="m",
                rules_version="r",
                duration_ms=1.0,
                created_at=at,
            )
        )
    return sub_id


def test_bounded_query_matches_reading_everything(session_factory: sessionmaker[Session]) -> None:
    rng = random.Random(8)
    start = utcnow() - timedelta(hours=1)
    limit = 5
    with session_factory() as session:
        ids: list[tuple[str, str]] = []
        unassessed: set[str] = set()
        for n in range(400):
            conversation = f"c{rng.randrange(6)}"
            # Whole seconds: many creation-time ties, broken by id like the service does.
            at = start + timedelta(seconds=n // 3)
            # Older messages are mostly assessed; recent ones mostly still queued, some scored out
            # of order (another worker's later batch recorded first).
            assessed = rng.random() < (0.9 if n < 300 else 0.3)
            sub_id = add_message(session, n, conversation, at, assessed, rng)
            ids.append((sub_id, conversation))
            if not assessed:
                unassessed.add(sub_id)
        session.commit()
        for trial in range(20):
            pool = ids[250:] if trial % 2 else ids
            batch = dict(rng.sample(pool, rng.randint(1, 30)))
            if trial % 3 == 0:  # as a worker's batch: only messages still waiting for a verdict
                batch = {s: c for s, c in batch.items() if s in unassessed} or batch
            got = conversation_histories(session, batch, limit)
            assert got == reference(session, batch, limit), trial
            assert all(len(h) <= limit for h in got.values())
        # A message alone in its conversation has no history; a long conversation is cut at `limit`.
        alone = add_message(session, 999, "c-alone", start, False, rng)
        assert conversation_histories(session, {alone: "c-alone"}, limit)[alone] == ()
        last_id, last_conv = ids[-1]
        assert len(conversation_histories(session, {last_id: last_conv}, limit)[last_id]) == limit
        assert conversation_histories(session, {}, limit) == {}


def test_cache_gives_the_same_histories_and_reads_each_verdict_once(
    session_factory: sessionmaker[Session],
) -> None:
    from sqlalchemy import event

    from moderation.conversation_history import StepCategoriesCache

    rng = random.Random(3)
    start = utcnow() - timedelta(hours=1)
    with session_factory() as session:
        ids = []
        for n in range(120):
            conversation = f"k{rng.randrange(3)}"
            sub_id = add_message(session, 2000 + n, conversation, start + timedelta(seconds=n), n < 100, rng)
            ids.append((sub_id, conversation))
        session.commit()
        cache = StepCategoriesCache(max_entries=1000)
        batch = dict(ids[100:])
        statements: list[str] = []

        def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
            statements.append(statement)

        event.listen(session.get_bind(), "before_cursor_execute", seen)
        try:
            first = conversation_histories(session, batch, 5, cache)
            reasons_reads = sum("reasons" in s for s in statements)
            again = conversation_histories(session, batch, 5, cache)
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", seen)
        assert first == again == conversation_histories(session, batch, 5) == reference(session, batch, 5)
        assert reasons_reads == 1
        assert sum("reasons" in s for s in statements) == 1  # the second call decoded nothing
        assert 0 < len(cache) <= 3 * 5 + 20
        small = StepCategoriesCache(max_entries=4)
        assert conversation_histories(session, batch, 5, small) == first
        assert len(small) == 4  # bounded
