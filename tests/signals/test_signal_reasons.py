"""Reasons from observed counts: thresholds, growth and spans (pure, table-driven)."""

from __future__ import annotations

import pytest

from scoring.entity_keys import IndexedEntity
from scoring.signal_reasons import (
    CampaignObservation,
    EntityObservation,
    SenderObservation,
    SignalParams,
    campaign_reason,
    entity_reasons,
    sender_reasons,
)
from scoring.types import Category

PARAMS = SignalParams(campaign_min_recipients=5, shared_entity_min_accounts=3)
HANDLE = IndexedEntity("handle", "paypal.me/x", (10, 21), "text", "paypal.me/X")
PHONE = IndexedEntity("phone", "+33612345678", (0, 14), "text", "06 12 34 56 78")


@pytest.mark.parametrize(("recipients", "fires"), [(1, False), (4, False), (5, True), (40, True)])
def test_campaign_threshold(recipients: int, fires: bool) -> None:
    obs = CampaignObservation("t1", recipients=recipients, senders=1, similarity=0.9)
    assert (campaign_reason(obs, "some text", PARAMS) is not None) is fires


def test_common_phrasing_from_many_senders_is_not_a_campaign() -> None:
    many_people = CampaignObservation("t", recipients=40, senders=30, similarity=0.9)
    assert campaign_reason(many_people, "txt", PARAMS) is None
    ring = CampaignObservation("t", recipients=40, senders=4, similarity=0.9)
    assert campaign_reason(ring, "txt", PARAMS) is not None


def test_campaign_weight_grows_with_reach_and_senders() -> None:
    def weight(recipients: int, senders: int = 1) -> float:
        reason = campaign_reason(CampaignObservation("t", recipients, senders, 1.0), "txt", PARAMS)
        assert reason is not None
        return reason.weight

    assert weight(5) == pytest.approx(PARAMS.campaign_weight)
    assert weight(5) < weight(10) < weight(40) == pytest.approx(PARAMS.campaign_max_weight)
    assert weight(400) == weight(40)
    assert weight(10, senders=3) > weight(10)


def test_campaign_reason_spans_the_text_and_cites_examples() -> None:
    reason = campaign_reason(CampaignObservation("t", 6, 1, 0.8, ("s1", "s2")), "Bonjour", PARAMS)
    assert reason is not None
    assert reason.category is Category.CAMPAIGN
    assert reason.span == (0, 7)
    assert reason.detail["recipients"] == 6 and reason.detail["examples"] == ["s1", "s2"]


def test_entity_reasons() -> None:
    reasons = entity_reasons(
        [
            EntityObservation(HANDLE, accounts=1, blocked=True, blocked_detail={"decision_id": "4"}),
            EntityObservation(PHONE, accounts=2),
        ],
        PARAMS,
    )
    assert [r.code for r in reasons] == ["signal.confirmed_entity"]
    confirmed = reasons[0]
    assert confirmed.category is Category.EXTERNAL_PAYMENT
    assert confirmed.span == HANDLE.span and confirmed.evidence == "paypal.me/X"
    assert confirmed.detail["decision_id"] == "4"
    shared = entity_reasons([EntityObservation(PHONE, accounts=3)], PARAMS)
    assert [(r.code, r.category) for r in shared] == [("signal.shared_entity", Category.OFF_PLATFORM)]
    more = entity_reasons([EntityObservation(PHONE, accounts=30)], PARAMS)
    assert shared[0].weight < more[0].weight <= PARAMS.shared_entity_max_weight


@pytest.mark.parametrize(
    ("obs", "codes"),
    [
        (SenderObservation("u", per_minute=1, per_hour=3), []),
        (SenderObservation("u", per_minute=10), ["signal.sender_velocity"]),
        (SenderObservation("u", per_hour=120), ["signal.sender_velocity"]),
        (
            SenderObservation("u", conversations_per_hour=12, account_age_days=1),
            ["signal.new_account_fanout"],
        ),
        (SenderObservation("u", conversations_per_hour=12, account_age_days=400), []),
        (SenderObservation("u", conversations_per_hour=12), []),
        (
            SenderObservation("u", confirmed_scams=2, confirmed_category=Category.EXTERNAL_PAYMENT),
            ["signal.sender_confirmed_scam"],
        ),
        (SenderObservation("u", payees=2), []),
        (SenderObservation("u", payees=3), ["signal.sender_many_payees"]),
    ],
)
def test_sender_reasons(obs: SenderObservation, codes: list[str]) -> None:
    reasons = sender_reasons(obs, PARAMS)
    assert [r.code for r in reasons] == codes
    assert all(r.span is None for r in reasons)  # about the account: never flags a blank message
