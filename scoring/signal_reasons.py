"""Reasons from what the shell observed around a message: campaigns, shared or confirmed entities, senders.

The shell (workers/signals.py) counts things in Redis and the database; this module turns the counts
into `Reason`s with weights, so every threshold and weight lives in one pure, table-tested place and
the engine fuses them like any detector's reasons. Each function returns None when its signal is
below threshold. Weights were chosen against the message thresholds of the default rule pack
(warn 0.50, review 0.62, hold 0.85 with rule evidence >= 0.70):

- volume alone (campaign, velocity, fan-out: all `campaign`) warns or queues for review but never
  holds an honest-looking text, even from a new account: their weights are kept low enough that
  their noisy-OR, raised by the new-account odds, stays under the hold threshold (a test checks it);
- an entity shared by several accounts raises a little (families share a phone number);
- an entity from a confirmed scam, or a sender with confirmed scams, is strong evidence: with any
  payment or contact reason of its own the message reaches hold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scoring.entity_keys import IndexedEntity
from scoring.types import Category, Reason


@dataclass(frozen=True, slots=True)
class SignalParams:
    """Thresholds and weights of the signal reasons (built from `Settings` by the shell)."""

    campaign_min_recipients: int = 5
    campaign_weight: float = 0.5  # at the threshold: the message warn threshold (rules 2025.2), so it shows
    campaign_max_weight: float = 0.55  # reached at 8x the threshold
    several_senders_bonus: float = 0.05  # the same template from several accounts: coordinated
    # Honest buyers write alike ("toujours disponible ? je peux passer samedi"): a text reaching many
    # recipients through as many different senders is common phrasing, not a campaign. A campaign
    # needs its senders to reach this many recipients each on average.
    campaign_min_recipients_per_sender: float = 3.0
    shared_entity_min_accounts: int = 3  # distinct accounts, the current one included
    shared_entity_weight: float = 0.35
    shared_entity_max_weight: float = 0.6
    blocked_entity_weight: float = 0.9
    sender_confirmed_weight: float = 0.6
    velocity_per_minute: int = 10
    velocity_per_hour: int = 120
    velocity_weight: float = 0.2
    new_account_days: float = 7.0
    fanout_conversations_per_hour: int = 10
    fanout_weight: float = 0.3
    many_payees: int = 3  # distinct IBANs/payment handles/wallets from one account in the window
    many_payees_weight: float = 0.35


@dataclass(frozen=True, slots=True)
class CampaignObservation:
    """A template's reach within the campaign window, this message included."""

    template_id: str
    recipients: int
    senders: int
    similarity: float  # to the template's first message, 1.0 for the first one
    examples: tuple[str, ...] = ()  # submission ids of other messages of the template


@dataclass(frozen=True, slots=True)
class EntityObservation:
    """What the index and the block list know about one entity of this message."""

    entity: IndexedEntity
    accounts: int  # distinct sender accounts seen with it in the window, the current one included
    blocked: bool = False
    blocked_detail: dict[str, str] | None = None  # e.g. {"decision_id": "12", "expires_at": "..."}


@dataclass(frozen=True, slots=True)
class SenderObservation:
    """The sender's recent activity (this message included) and history."""

    sender_id: str
    per_minute: int = 0
    per_hour: int = 0
    conversations_per_hour: int = 0
    account_age_days: float | None = None
    confirmed_scams: int = 0
    confirmed_category: Category | None = None
    payees: int = 0  # distinct payment identities (IBANs, payment handles, wallets) it has sent


def _whole_text(text: str, limit: int = 200) -> tuple[tuple[int, int] | None, str]:
    if not text:
        return None, ""
    return (0, len(text)), text[:limit]


def campaign_reason(obs: CampaignObservation, text: str, params: SignalParams) -> Reason | None:
    """`signal.campaign` once the template reached `campaign_min_recipients` distinct recipients, at
    `campaign_min_recipients_per_sender` or more per sender."""
    threshold = max(1, params.campaign_min_recipients)
    if obs.recipients < threshold:
        return None
    if obs.recipients / max(1, obs.senders) < params.campaign_min_recipients_per_sender:
        return None
    # Grows with log2 of how far past the threshold the campaign is: 8x the threshold is the max.
    growth = min(1.0, math.log2(obs.recipients / threshold) / 3.0)
    weight = params.campaign_weight + (params.campaign_max_weight - params.campaign_weight) * growth
    if obs.senders > 1:
        weight += params.several_senders_bonus
    span, evidence = _whole_text(text)
    return Reason(
        code="signal.campaign",
        category=Category.CAMPAIGN,
        weight=min(1.0, weight),
        evidence=evidence,
        span=span,
        detail={
            "template_id": obs.template_id,
            "recipients": obs.recipients,
            "senders": obs.senders,
            "similarity": round(obs.similarity, 3),
            "examples": list(obs.examples),
        },
    )


def entity_reasons(observations: Sequence[EntityObservation], params: SignalParams) -> list[Reason]:
    """`signal.confirmed_entity` for entities from confirmed scams, `signal.shared_entity` for entities
    seen from at least `shared_entity_min_accounts` accounts."""
    out: list[Reason] = []
    for obs in observations:
        ent = obs.entity
        if obs.blocked:
            out.append(
                Reason(
                    code="signal.confirmed_entity",
                    category=ent.category,
                    weight=params.blocked_entity_weight,
                    evidence=ent.evidence,
                    span=ent.span,
                    field=ent.field,
                    detail={"entity": ent.key, **(obs.blocked_detail or {})},
                )
            )
        elif obs.accounts >= params.shared_entity_min_accounts:
            extra = obs.accounts - params.shared_entity_min_accounts
            weight = min(params.shared_entity_max_weight, params.shared_entity_weight + 0.05 * extra)
            out.append(
                Reason(
                    code="signal.shared_entity",
                    category=ent.category,
                    weight=weight,
                    evidence=ent.evidence,
                    span=ent.span,
                    field=ent.field,
                    detail={"entity": ent.key, "accounts": obs.accounts},
                )
            )
    return out


def sender_reasons(obs: SenderObservation, params: SignalParams) -> list[Reason]:
    """Velocity, new-account fan-out and confirmed-scam history of the sender (no text span: these
    are about the account, so they add to a message's evidence but never flag a blank message)."""
    out: list[Reason] = []
    if obs.confirmed_scams > 0:
        out.append(
            Reason(
                code="signal.sender_confirmed_scam",
                category=obs.confirmed_category or Category.CAMPAIGN,
                weight=params.sender_confirmed_weight,
                evidence=f"sender has {obs.confirmed_scams} confirmed scam(s)",
                span=None,
                detail={"sender_id": obs.sender_id, "confirmed_scams": obs.confirmed_scams},
            )
        )
    fast = obs.per_minute >= params.velocity_per_minute or obs.per_hour >= params.velocity_per_hour
    if fast:
        out.append(
            Reason(
                code="signal.sender_velocity",
                category=Category.CAMPAIGN,
                weight=params.velocity_weight,
                evidence=f"{obs.per_minute} messages in a minute, {obs.per_hour} in an hour",
                span=None,
                detail={"per_minute": obs.per_minute, "per_hour": obs.per_hour},
            )
        )
    is_new = obs.account_age_days is not None and obs.account_age_days < params.new_account_days
    if is_new and obs.conversations_per_hour >= params.fanout_conversations_per_hour:
        out.append(
            Reason(
                code="signal.new_account_fanout",
                category=Category.CAMPAIGN,
                weight=params.fanout_weight,
                evidence=f"account {obs.account_age_days:g} days old wrote to "
                f"{obs.conversations_per_hour} conversations in an hour",
                span=None,
                detail={
                    "account_age_days": obs.account_age_days,
                    "conversations_per_hour": obs.conversations_per_hour,
                },
            )
        )
    if params.many_payees > 0 and obs.payees >= params.many_payees:
        # Honest sellers have one bank account; mule networks rotate payees to dodge blocks.
        out.append(
            Reason(
                code="signal.sender_many_payees",
                category=Category.EXTERNAL_PAYMENT,
                weight=params.many_payees_weight,
                evidence=f"{obs.payees} different payment identities sent by this account",
                span=None,
                detail={"payees": obs.payees},
            )
        )
    return out
