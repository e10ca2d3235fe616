"""Scam scripts over a conversation's earlier messages (pure, table-driven)."""

from __future__ import annotations

import pytest

from scoring.conversation import match_script, prior_message
from scoring.types import Category, PriorMessage, Reason, Verdict

OFF = Category.OFF_PLATFORM
ATO = Category.ACCOUNT_TAKEOVER
LINK = Category.FAKE_SECURE_PAYMENT
PAY = Category.EXTERNAL_PAYMENT


def turn(*categories: Category, sender: str | None = "scammer") -> PriorMessage:
    return PriorMessage(sender_id=sender, categories=frozenset(categories))


def reason(category: Category, weight: float = 0.55) -> Reason:
    return Reason(code=f"t.{category.value}", category=category, weight=weight, evidence="code", span=(3, 7))


@pytest.mark.parametrize(
    ("history", "current", "expected"),
    [
        ([turn(), turn(OFF)], [reason(ATO)], "conversation.code_after_off_platform"),
        ([turn(OFF), turn(LINK)], [reason(ATO)], "conversation.off_platform_link_code"),
        ([turn(LINK)], [reason(ATO)], "conversation.code_after_link"),
        ([turn(OFF)], [reason(LINK)], "conversation.link_after_off_platform"),
        ([turn(OFF)], [reason(PAY)], "conversation.payment_after_off_platform"),
        ([turn(Category.OVERPAYMENT)], [reason(PAY)], "conversation.fee_after_overpayment"),
        # Order matters: the code request came first.
        ([turn(ATO), turn(OFF)], [reason(LINK, 0.2)], None),
        # The victim's own messages are not steps of the scammer's script.
        ([turn(OFF, sender="victim")], [reason(ATO)], None),
        # A weak reason (model explanation, weight 0) does not make the current message a step.
        ([turn(OFF)], [reason(ATO, 0.0)], None),
        ([], [reason(ATO)], None),
        ([turn(OFF)], [], None),
    ],
)
def test_match_script(history: list[PriorMessage], current: list[Reason], expected: str | None) -> None:
    found = match_script(history, current, "scammer")
    assert (found.code if found else None) == expected


def test_unknown_senders_count_every_turn() -> None:
    found = match_script([turn(OFF, sender=None)], [reason(ATO)], None)
    assert found is not None


def test_reason_points_at_the_current_step_and_holds() -> None:
    found = match_script([turn(OFF)], [reason(OFF, 0.3), reason(ATO, 0.55)], "scammer")
    assert found is not None
    assert found.category is ATO
    assert found.span == (3, 7)
    assert found.weight >= 0.85  # strong enough to reach hold once fused
    assert found.detail["earlier_messages"] == 1


def test_prior_message_from_stored_reasons() -> None:
    stored = [
        {"code": "a", "category": "off_platform", "weight": 0.5},
        {"code": "b", "category": "account_takeover", "weight": 0.1},  # too weak to be a step
        {"code": "c", "category": "no_such_category", "weight": 0.9},  # ignored, not fatal
        {"code": "d", "category": "external_payment", "weight": "oops"},
    ]
    prior = prior_message("u1", stored, "warn")
    assert prior.categories == frozenset({OFF})
    assert prior.verdict is Verdict.WARN
    assert prior_message(None, [], "bogus").verdict is None


def test_conversation_memory_feeds_the_next_message() -> None:
    from scoring.conversation import ConversationMemory
    from scoring.types import Kind, ScoreInput, ScoreResult, Sender

    memory = ConversationMemory(max_conversations=2)

    def msg(conversation: str, sender: str = "scammer") -> ScoreInput:
        return ScoreInput(
            id="m", kind=Kind.MESSAGE, text="t", conversation_id=conversation, sender=Sender(sender)
        )

    def result(*categories: Category) -> ScoreResult:
        reasons = tuple(reason(c) for c in categories)
        return ScoreResult("m", 0.5, Verdict.WARN, categories, reasons, "m", "r")

    memory.record(msg("c1"), result(OFF))
    history = memory.history(msg("c1"))
    assert [(p.sender_id, p.categories) for p in history] == [("scammer", frozenset({OFF}))]
    assert match_script(history, [reason(ATO)], "scammer") is not None
    assert memory.history(msg("c2")) == ()
    listing = ScoreInput(id="l", kind=Kind.LISTING, text="t", conversation_id="c1")
    assert memory.history(listing) == ()
    memory.record(msg("c2"), result())
    memory.record(msg("c3"), result())  # bounded: the least recently used conversation goes
    assert memory.history(msg("c1")) == ()
