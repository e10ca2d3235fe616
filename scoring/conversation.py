"""Conversation-level scoring: does this message complete a known scam script?

Many scams are harmless one message at a time and obvious as a sequence: "give me your e-mail"
(off_platform), then a "secure payment" link, then "send me the code you just received by SMS"
(account_takeover). `match_script(history, reasons, sender_id)` checks the categories of the
sender's earlier messages, in order, against `SCRIPTS`; when the current message shows the last
step, it returns one `conversation.*` reason that the engine fuses like any other, strong enough
to hold the message. Only the current sender's turns count (the victim's replies are not steps),
unless sender ids are unknown.

Pure: the shell reads the history (categories of earlier assessments) from the database.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scoring.types import Category, Kind, PriorMessage, Reason, ScoreInput, ScoreResult, Verdict

# A reason this weak (model explanations weigh 0) does not make its message a step of a script.
MIN_STEP_WEIGHT = 0.25
# Scripts look at this many earlier messages at most: bounded work on endless conversations.
MAX_HISTORY = 50

_LINKS = frozenset(
    {
        Category.FAKE_SECURE_PAYMENT,
        Category.FAKE_DELIVERY,
        Category.PHISHING_LINK,
        Category.SPOOFED_DOMAIN,
        Category.URL_SHORTENER,
    }
)
_OFF = frozenset({Category.OFF_PLATFORM})
_CODE = frozenset({Category.ACCOUNT_TAKEOVER})
_PAY = frozenset({Category.EXTERNAL_PAYMENT})


@dataclass(frozen=True, slots=True)
class Script:
    """An ordered scam sequence. Each step is a set of categories, any of which makes a message that
    step; the earlier steps must appear in earlier messages in order, the last in the current one."""

    code: str
    steps: tuple[frozenset[Category], ...]
    weight: float
    description: str


SCRIPTS: tuple[Script, ...] = (
    Script("conversation.off_platform_link_code", (_OFF, _LINKS, _CODE), 0.95,
           "contact moved off the platform, then a link, then a code or card request"),
    Script("conversation.code_after_off_platform", (_OFF, _CODE), 0.9,
           "code or card request after a move off the platform"),
    Script("conversation.code_after_link", (_LINKS, _CODE), 0.9,
           "code or card request after a payment or delivery link"),
    Script("conversation.link_after_off_platform", (_OFF, _LINKS), 0.75,
           "payment or delivery link after a move off the platform"),
    Script("conversation.fee_after_overpayment", (frozenset({Category.OVERPAYMENT}),
           _PAY | {Category.ADVANCE_FEE}), 0.75, "payment or fee request after an overpayment story"),
    Script("conversation.payment_after_off_platform", (_OFF, _PAY), 0.6,
           "external payment request after a move off the platform"),
)  # fmt: skip


def step_categories(reasons: Iterable[Reason]) -> frozenset[Category]:
    """Categories a message shows for script matching (reasons weighing at least MIN_STEP_WEIGHT)."""
    return frozenset(r.category for r in reasons if r.weight >= MIN_STEP_WEIGHT)


def prior_message(
    sender_id: str | None, stored_reasons: Iterable[Mapping[str, Any]], verdict: str | None = None
) -> PriorMessage:
    """A `PriorMessage` from an assessment as stored (`ScoreResult.to_dict()["reasons"]`); reasons
    with an unknown category or a malformed weight are ignored rather than failing the new message."""
    categories = set()
    for reason in stored_reasons:
        try:
            weight = float(reason.get("weight", 0.0))
            category = Category(str(reason.get("category")))
        except (TypeError, ValueError):
            continue
        if weight >= MIN_STEP_WEIGHT:
            categories.add(category)
    try:
        parsed_verdict = Verdict(verdict) if verdict is not None else None
    except ValueError:
        parsed_verdict = None
    return PriorMessage(sender_id=sender_id, categories=frozenset(categories), verdict=parsed_verdict)


def _completes(script: Script, earlier: Sequence[frozenset[Category]], current: frozenset[Category]) -> bool:
    if not current & script.steps[-1]:
        return False
    step = 0
    needed = script.steps[:-1]
    for categories in earlier:  # greedy in-order subsequence match: optimal for "exists" on sets
        if step < len(needed) and categories & needed[step]:
            step += 1
    return step == len(needed)


def match_script(
    history: Sequence[PriorMessage], reasons: Sequence[Reason], sender_id: str | None
) -> Reason | None:
    """The reason for the strongest script the current message completes, or None.

    `history` is the conversation before this message, oldest first; `reasons` are the current
    message's own reasons (their spans anchor the returned reason in the current text).
    """
    current = step_categories(reasons)
    if not current or not history:
        return None
    turns = [
        m.categories
        for m in history[-MAX_HISTORY:]
        if sender_id is None or m.sender_id is None or m.sender_id == sender_id
    ]
    for script in sorted(SCRIPTS, key=lambda s: -s.weight):
        if not _completes(script, turns, current):
            continue
        anchor = max(
            (r for r in reasons if r.category in script.steps[-1] and r.weight >= MIN_STEP_WEIGHT),
            key=lambda r: r.weight,
        )
        return Reason(
            code=script.code,
            category=anchor.category,
            weight=script.weight,
            evidence=anchor.evidence,
            span=anchor.span,
            field=anchor.field,
            detail={
                "script": script.description,
                "steps": [sorted(c.value for c in step) for step in script.steps],
                "earlier_messages": len(turns),
            },
        )
    return None


class ConversationMemory:
    """Results of the conversations scored in this run, oldest first, for messages whose predecessors
    are not stored anywhere yet (the rest of a worker batch, a `vigie score` input file).

    Bounded: at most `max_conversations` conversations (least recently used dropped first) and
    `MAX_HISTORY` messages each.
    """

    def __init__(self, max_conversations: int = 10_000) -> None:
        self.max_conversations = max_conversations
        self._turns: OrderedDict[str, list[PriorMessage]] = OrderedDict()

    def history(self, item: ScoreInput) -> tuple[PriorMessage, ...]:
        """What this run already scored in the item's conversation (empty for listings)."""
        if item.kind is not Kind.MESSAGE or not item.conversation_id:
            return ()
        return tuple(self._turns.get(item.conversation_id, ()))

    def record(self, item: ScoreInput, result: ScoreResult) -> None:
        """Remember `result` as the latest message of the item's conversation."""
        if item.kind is not Kind.MESSAGE or not item.conversation_id:
            return
        sender = item.sender.id if item.sender else None
        turns = self._turns.setdefault(item.conversation_id, [])
        self._turns.move_to_end(item.conversation_id)
        turns.append(PriorMessage(sender, step_categories(result.reasons), result.verdict))
        del turns[:-MAX_HISTORY]
        while len(self._turns) > self.max_conversations:
            self._turns.popitem(last=False)
