"""Concurrent claims and decisions from real threads, each with its own connection: exactly one wins.

Runs on SQLite and, when VIGIE_TEST_POSTGRES_URL is set, on PostgreSQL (the db_url fixture).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from moderation import review
from moderation.clock import utcnow
from moderation.decisions import decide
from moderation.review import ReviewError
from moderation.review_models import Decision, Moderator, ReviewItem

THREADS = 8


def race(n: int, attempt: Callable[[int], object]) -> tuple[list[object], list[BaseException]]:
    """Run `attempt(i)` in n threads released at the same instant; collect results and errors."""
    barrier = threading.Barrier(n)
    wins: list[object] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            out = attempt(i)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                wins.append(out)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return wins, errors


def test_two_moderators_claim_at_once_exactly_one_wins(
    store_message: Callable[..., str],
    make_moderator: Callable[..., Moderator],
    session_factory: sessionmaker[Session],
) -> None:
    sid = store_message()
    moderators = [make_moderator() for _ in range(THREADS)]
    with session_factory() as session:
        item_id = session.scalars(select(ReviewItem.id).where(ReviewItem.submission_id == sid)).one()

    def attempt(i: int) -> str:
        with session_factory() as session:
            item = review.claim(session, item_id, moderators[i], utcnow(), timedelta(minutes=5))
            session.commit()
            return moderators[i].id if item.claimed_by == moderators[i].id else "?"

    wins, errors = race(THREADS, attempt)
    assert len(wins) == 1, (wins, errors)
    assert len(errors) == THREADS - 1
    assert all(isinstance(e, review.ClaimConflict) for e in errors), errors
    with session_factory() as session:
        assert review.get_item(session, item_id).claimed_by == wins[0]


def test_concurrent_decisions_on_one_version_exactly_one_is_recorded(
    store_message: Callable[..., str],
    make_moderator: Callable[..., Moderator],
    session_factory: sessionmaker[Session],
) -> None:
    sid = store_message()
    seniors = [make_moderator(senior=True) for _ in range(4)]
    with session_factory() as session:
        item = session.scalars(select(ReviewItem).where(ReviewItem.submission_id == sid)).one()
        item_id, version = item.id, item.version

    def attempt(i: int) -> int:
        with session_factory() as session:
            choice = ("confirm_scam", "phishing") if i % 2 else ("not_scam", "legitimate")
            row = decide(session, item_id, seniors[i], *choice, utcnow(), expected_version=version)
            session.commit()
            return row.id

    wins, errors = race(len(seniors), attempt)
    assert len(wins) == 1 and all(isinstance(e, ReviewError) for e in errors), errors
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 1
