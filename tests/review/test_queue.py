"""The review queue service: items from verdicts and reports, priority, leases, escalation, listing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from moderation import review
from moderation.clock import utcnow
from moderation.models import AuditEvent
from moderation.review import (
    ClaimConflict,
    ItemFilter,
    NotPermitted,
    compute_priority,
    effective_priority,
    list_items,
    open_or_bump_item,
)
from moderation.review_models import Moderator, ReviewItem

LEASE = timedelta(minutes=5)
StoreMessage = Callable[..., str]
MakeModerator = Callable[..., Moderator]


def item_of(session: Session, submission_id: str) -> ReviewItem:
    return session.scalars(select(ReviewItem).where(ReviewItem.submission_id == submission_id)).one()


@pytest.mark.parametrize(
    ("higher", "lower"),
    [
        ({"score": 0.95}, {"score": 0.6}),
        ({"categories": ["account_takeover"]}, {"categories": ["url_shortener"]}),
        ({"report_weight": 3.0}, {"report_weight": 0.0}),
        ({"sender_new_account": True}, {"sender_new_account": False}),
        ({"verdict": "hold"}, {"verdict": "review"}),
    ],
)
def test_each_signal_raises_priority(higher: dict[str, object], lower: dict[str, object]) -> None:
    base: dict[str, object] = {
        "score": 0.7, "verdict": "review", "categories": ["off_platform"], "report_weight": 0.0,
        "sender_new_account": False,
    }  # fmt: skip
    assert compute_priority(**{**base, **higher}) > compute_priority(**{**base, **lower})  # type: ignore[arg-type]
    assert 0 <= compute_priority(1.0, "hold", ["account_takeover"], 100.0, True) <= 100


def test_reports_saturate() -> None:
    first = compute_priority(0.5, "review", [], 1.0, False) - compute_priority(0.5, "review", [], 0.0, False)
    tenth = compute_priority(0.5, "review", [], 10.0, False) - compute_priority(0.5, "review", [], 9.0, False)
    assert first > 5 * tenth > 0


def test_review_and_hold_verdicts_queue_an_item_allow_and_warn_do_not(
    store_message: StoreMessage, session_factory: sessionmaker[Session]
) -> None:
    queued = [store_message(verdict=v) for v in ("review", "hold")]
    skipped = [store_message(verdict=v, score=0.2) for v in ("allow", "warn")]
    with session_factory() as session:
        items = {i.submission_id: i for i in session.scalars(select(ReviewItem))}
    assert set(items) == set(queued)
    hold = items[queued[1]]
    assert hold.due_at - hold.opened_at == review.SLA_HOLD
    assert items[queued[0]].categories == ["external_payment"]
    assert not set(skipped) & set(items)


def test_one_item_per_submission_however_many_reports(
    store_message: StoreMessage, session_factory: sessionmaker[Session]
) -> None:
    sid = store_message(verdict="allow", score=0.1)
    with session_factory() as session:
        first = open_or_bump_item(session, sid, 1, "report", 1.0, utcnow())
        priorities = [first.priority]
        for _ in range(3):
            priorities.append(open_or_bump_item(session, sid, 1, "report", 1.0, utcnow()).priority)
        session.commit()
        item = item_of(session, sid)
        count = session.scalar(select(func.count()).select_from(ReviewItem))
    assert count == 1
    assert item.report_count == 4 and item.report_weight == pytest.approx(4.0)
    assert priorities == sorted(priorities) and priorities[-1] > priorities[0]
    assert item.version == 4  # every bump is a change a moderator must not miss


def test_a_verdict_after_a_report_fills_in_score_and_categories(
    store_message: StoreMessage, session_factory: sessionmaker[Session]
) -> None:
    sid = store_message(verdict=None)
    with session_factory() as session:
        open_or_bump_item(session, sid, 1, "report", 1.0, utcnow())
        session.commit()
        from moderation.assessments import record_assessment
        from tests.review.conftest import result_for

        record_assessment(session, sid, 1, result_for(sid, "hold", 0.9, ("fake_secure_payment",)), 1.0)
        session.commit()
        item = item_of(session, sid)
    assert item.verdict == "hold" and item.categories == ["fake_secure_payment"]
    assert set(item.sources) == {"report", "verdict"}


def test_claim_is_exclusive_until_the_lease_expires(
    store_message: StoreMessage, make_moderator: MakeModerator, session_factory: sessionmaker[Session]
) -> None:
    sid = store_message()
    alice, bob = make_moderator(), make_moderator()
    t0 = utcnow()
    with session_factory() as session:
        item_id = item_of(session, sid).id
        claimed = review.claim(session, item_id, alice, t0, LEASE)
        session.commit()
        assert claimed.claimed_by == alice.id and review.holder(claimed, t0) == alice.id
        with pytest.raises(ClaimConflict) as err:
            review.claim(session, item_id, bob, t0 + timedelta(minutes=1), LEASE)
        assert err.value.holder == alice.id
        session.rollback()
        # Alice renews her own claim; once it lapses the item is back in the pool for Bob.
        review.claim(session, item_id, alice, t0 + timedelta(minutes=2), LEASE)
        session.commit()
        later = t0 + timedelta(minutes=2) + LEASE + timedelta(seconds=1)
        assert review.holder(review.get_item(session, item_id), later) is None
        assert review.claim(session, item_id, bob, later, LEASE).claimed_by == bob.id
        session.commit()
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == sid)).all()
    assert actions.count("review_item.claimed") == 3


def test_release_returns_the_item_and_only_the_holder_may(
    store_message: StoreMessage, make_moderator: MakeModerator, session_factory: sessionmaker[Session]
) -> None:
    sid = store_message()
    alice, bob = make_moderator(), make_moderator()
    now = utcnow()
    with session_factory() as session:
        item_id = item_of(session, sid).id
        review.claim(session, item_id, alice, now, LEASE)
        session.commit()
        with pytest.raises(ClaimConflict):
            review.release(session, item_id, bob, now)
        session.rollback()
        assert review.release(session, item_id, alice, now).claimed_by is None
        session.commit()
        assert review.claim(session, item_id, bob, now, LEASE).claimed_by == bob.id


def test_escalated_items_are_for_seniors_only(
    store_message: StoreMessage, make_moderator: MakeModerator, session_factory: sessionmaker[Session]
) -> None:
    sid = store_message()
    junior, other, senior = make_moderator(), make_moderator(), make_moderator(senior=True)
    now = utcnow()
    with session_factory() as session:
        item_id = item_of(session, sid).id
        review.claim(session, item_id, junior, now, LEASE)
        item = review.escalate(session, item_id, junior, "Lien de paiement douteux, je ne sais pas", now)
        session.commit()
        assert (item.queue, item.claimed_by) == ("senior", None)
        with pytest.raises(NotPermitted):
            review.claim(session, item_id, other, now, LEASE)
        session.rollback()
        assert review.claim(session, item_id, senior, now, LEASE).claimed_by == senior.id
        session.commit()
        standard, _ = list_items(session, ItemFilter(available_to=other), now)
        assert item_id not in {i.id for i in standard}


def test_assign_hands_the_claim_to_another_moderator(
    store_message: StoreMessage, make_moderator: MakeModerator, session_factory: sessionmaker[Session]
) -> None:
    sid = store_message()
    alice, bob, carol = make_moderator(), make_moderator(), make_moderator()
    now = utcnow()
    with session_factory() as session:
        item_id = item_of(session, sid).id
        review.claim(session, item_id, alice, now, LEASE)
        session.commit()
        with pytest.raises(ClaimConflict):
            review.assign(session, item_id, carol, bob, now, LEASE)  # Bob cannot take Alice's item
        session.rollback()
        item = review.assign(session, item_id, bob, alice, now, LEASE)
        session.commit()
    assert (item.claimed_by, item.assigned_to) == (bob.id, bob.id)


def test_listing_orders_by_priority_paginates_and_filters(
    store_message: StoreMessage, session_factory: sessionmaker[Session]
) -> None:
    low = store_message(score=0.5, categories=("url_shortener",), lang="en")
    high = store_message(score=0.95, categories=("account_takeover",))
    pro = store_message(score=0.7, sender={"id": "shop", "is_pro": True, "siret": "73282932000074"})
    now = utcnow()
    with session_factory() as session:
        page1, cursor = list_items(session, ItemFilter(), now, limit=2)
        assert cursor is not None
        page2, last = list_items(session, ItemFilter(), now, limit=2, cursor=cursor)
        ordered = [i.submission_id for i in page1 + page2]
        assert ordered[0] == high and ordered[-1] == low and last is None
        assert [effective_priority(i, now) for i in page1 + page2] == sorted(
            (effective_priority(i, now) for i in page1 + page2), reverse=True
        )

        def ids(**kw: str) -> set[str]:
            return {i.submission_id for i in list_items(session, ItemFilter(**kw), now)[0]}  # type: ignore[arg-type]

        assert ids(category="account_takeover") == {high}
        assert ids(category="account") == set()  # whole category names only
        assert ids(lang="en") == {low}
        assert ids(sender_type="pro") == {pro}
        assert ids(sender_type="individual") == {low, high}
        assert ids(kind="listing") == set()
        with pytest.raises(ValueError):
            list_items(session, ItemFilter(), now, cursor="!!not-a-cursor")


def test_waiting_raises_an_old_item_above_a_fresher_one(
    store_message: StoreMessage, session_factory: sessionmaker[Session]
) -> None:
    old = store_message(score=0.6)
    fresh = store_message(score=0.7)
    with session_factory() as session:
        item = item_of(session, old)
        # Opened 10 hours earlier: 20 age points outweigh the 4.5 points of score difference.
        item.opened_at = item.opened_at - timedelta(hours=10)
        item.sort_key = review.sort_key(item.priority, item.opened_at)
        session.commit()
        first = list_items(session, ItemFilter(), utcnow(), limit=1)[0][0]
    assert first.submission_id == old != fresh
