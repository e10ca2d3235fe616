"""Signals around a message, gathered by the shell before scoring: campaign templates, shared and
confirmed entities, sender velocity and history, the conversation so far.

`Signals.collect(session_factory, items)` returns one `ScoreContext` per item for
`Scorer.score_many(items, contexts)`; the scoring core turns them into reasons fused like any other
(`scoring.signal_reasons`, `scoring.conversation`). Database reads (block list, conversation
history) are one short session per batch; Redis work is three round trips per batch (two MGETs to
find campaign templates, then one script call for every write, count and read of the batch).

Degrading gracefully: when Redis is down or slow (`signals_redis_timeout_s`), the Redis-backed
signals are skipped for that batch and logged, and the verdict is produced from the content, the
block list and the conversation alone. A database error propagates, as for the rest of scoring
(the job is retried).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session, sessionmaker

from moderation.blocklist import BlockHit, account_key, lookup
from moderation.conversation_history import StepCategoriesCache, conversation_histories
from moderation.settings import Settings
from scoring.entity_keys import IndexedEntity, indexable_entities
from scoring.minhash import template_signature
from scoring.signal_reasons import (
    CampaignObservation,
    EntityObservation,
    SenderObservation,
    SignalParams,
    campaign_reason,
    entity_reasons,
    sender_reasons,
)
from scoring.types import Category, Kind, PriorMessage, Reason, ScoreContext, ScoreInput
from workers.entity_index import RedisBatch, Touch, entity_touches, sender_touches
from workers.templates import TemplateMessage, TemplateStore

log = logging.getLogger(__name__)


_clients: dict[tuple[str, float], Redis] = {}
_clients_lock = threading.Lock()


def signals_client(url: str, timeout_s: float) -> Redis:
    """One Redis client per process, URL and timeout, with short socket timeouts: a hung Redis costs
    a batch `timeout_s` per round trip, then the batch is scored without it. Shared so that building a
    `Signals` per API request opens no new connection (redis-py clients are thread-safe)."""
    key = (url, timeout_s)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
            _clients[key] = client
        return client


def signal_params(settings: Settings) -> SignalParams:
    """The scoring core's signal thresholds from the `VIGIE_*` settings."""
    return SignalParams(
        campaign_min_recipients=settings.campaign_min_recipients,
        campaign_min_recipients_per_sender=settings.campaign_min_recipients_per_sender,
        shared_entity_min_accounts=settings.shared_entity_min_accounts,
        velocity_per_minute=settings.velocity_per_minute,
        velocity_per_hour=settings.velocity_per_hour,
        new_account_days=settings.new_account_days,
        fanout_conversations_per_hour=settings.fanout_conversations_per_hour,
        many_payees=settings.sender_many_payees,
    )


@dataclass
class _Prepared:
    """What one item brings to the lookups (pure work done before any I/O)."""

    item: ScoreInput
    entities: list[IndexedEntity]
    history: tuple[PriorMessage, ...] = ()
    blocks: dict[str, BlockHit] = field(default_factory=dict)
    campaign: CampaignObservation | None = None
    entity_counts: dict[str, int] = field(default_factory=dict)
    sender: SenderObservation | None = None
    opener: bool = True  # no earlier message of its conversation in the batch
    payees: int = 0  # distinct payment identities the sender used in the entity window


class Signals:
    """Gathers the signals of a batch (see the module docstring). One per process; thread-safe as
    far as redis-py clients are (each call uses its own pipeline)."""

    def __init__(
        self,
        settings: Settings,
        redis: Redis | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.params = signal_params(settings)
        self._redis = redis
        self.clock = clock
        self.degraded_batches = 0  # batches whose Redis signals were skipped (for tests and metrics)
        # Earlier messages' step categories, so each verdict's reasons are decoded once per process.
        self.history_cache = StepCategoriesCache()

    @property
    def redis(self) -> Redis:
        """The client given, or the process's signals client for the settings' URL (lazy)."""
        if self._redis is None:
            self._redis = signals_client(self.settings.redis_url, self.settings.signals_redis_timeout_s)
        return self._redis

    def collect(
        self, session_factory: sessionmaker[Session], items: Sequence[ScoreInput]
    ) -> list[ScoreContext]:
        """One ScoreContext per item (empty contexts when signals are disabled).

        Items are taken in batch order: a message preceded in the batch by another message of its
        conversation is not a conversation opener (the caller adds that earlier message's result to
        its history once scored, see `workers.scoring`).
        """
        if not self.settings.signals_enabled or not items:
            return [ScoreContext() for _ in items]
        now = self.clock()
        prepared = [_Prepared(item, indexable_entities(item)) for item in items]
        seen: set[str] = set()
        for p in prepared:
            conversation = p.item.conversation_id
            if conversation and p.item.kind is Kind.MESSAGE:
                p.opener = conversation not in seen
                seen.add(conversation)
        self._read_database(session_factory, prepared, now)
        try:
            self._read_redis(prepared, now)
        except (RedisError, OSError) as exc:
            # Redis is an accelerator of judgement, not a requirement: score without its signals.
            self.degraded_batches += 1
            log.warning(
                "signals: Redis unavailable (%s), scoring %d item(s) without it",
                type(exc).__name__,
                len(items),
            )
        return [self._context(p) for p in prepared]

    # --- lookups -----------------------------------------------------------------------------------

    def _read_database(
        self, session_factory: sessionmaker[Session], prepared: list[_Prepared], now: float
    ) -> None:
        keys = {e.key for p in prepared for e in p.entities}
        keys |= {account_key(p.item.sender.id) for p in prepared if p.item.sender and p.item.sender.id}
        conversations = {
            p.item.id: p.item.conversation_id
            for p in prepared
            if p.item.kind is Kind.MESSAGE and p.item.conversation_id
        }
        with session_factory() as session:
            listing = lookup(session, keys, datetime.fromtimestamp(now, UTC))
            histories = conversation_histories(
                session, conversations, self.settings.conversation_history_limit, self.history_cache
            )
        for p in prepared:
            p.history = histories.get(p.item.id, ())
            p.blocks = listing.blocks
            # An allow-listed entity (a shop's shared phone line...) is neither blocked nor counted.
            p.entities = [e for e in p.entities if e.key not in listing.allowed]

    def _read_redis(self, prepared: list[_Prepared], now: float) -> None:
        store = TemplateStore(
            self.redis, self.settings.campaign_window_s, self.settings.campaign_min_similarity
        )
        templated = {id(p): m for p in prepared if (m := self._template_message(p)) is not None}
        matches = dict(zip(templated, store.match(list(templated.values())), strict=True))
        # Every operation of the batch in one script call: a single round trip, one command to pack.
        batch = RedisBatch()
        window = self.settings.entity_window_s
        pending = []
        for p in prepared:
            sender_id = p.item.sender.id if p.item.sender else None
            touches: list[Touch] = []
            for entity in p.entities:
                payment = entity.category is Category.EXTERNAL_PAYMENT
                touches += entity_touches(entity.key, sender_id, window, payment)
            activity = -1
            if sender_id and p.item.kind is Kind.MESSAGE:
                activity = len(touches)
                conversation = p.item.conversation_id or p.item.recipient_id
                touches += sender_touches(sender_id, p.item.id, conversation)
            campaign, examples = -1, -1
            if id(p) in templated:
                template_touches = store.queue_record(batch, templated[id(p)], matches[id(p)])
                campaign = len(touches)
                touches += template_touches
            index = batch.touches(touches) if touches else -1
            if campaign >= 0:
                examples = store.queue_examples(batch, matches[id(p)])
            pending.append((p, sender_id, index, len(touches), activity, campaign, examples))
        results = batch.run(self.redis, now)
        for p, sender_id, index, n_touches, activity, campaign, examples in pending:
            if index < 0:
                continue
            counts = [int(c) for c in results[index : index + n_touches]]
            # Entity touches come in runs of 1 (no sender) or 2; the first of each run is the count.
            position = 0
            for entity in p.entities:
                p.entity_counts[entity.key] = counts[position]
                if sender_id and entity.category is Category.EXTERNAL_PAYMENT:
                    p.payees = max(p.payees, counts[position + 1])
                position += 2 if sender_id else 1
            if activity >= 0 and sender_id:
                p.sender = SenderObservation(
                    sender_id,
                    per_minute=counts[activity],
                    per_hour=counts[activity + 1],
                    conversations_per_hour=counts[activity + 2],
                    account_age_days=p.item.sender.account_age_days if p.item.sender else None,
                    payees=p.payees,
                )
            if campaign >= 0:
                msg = templated[id(p)]
                p.campaign = store.observation(msg, matches[id(p)], counts[campaign:], results[examples])

    def _template_message(self, p: _Prepared) -> TemplateMessage | None:
        item = p.item
        if item.kind is not Kind.MESSAGE:
            return None
        # Only a conversation's first message is a campaign opener: replies to buyers legitimately
        # repeat themselves ("toujours disponible, remise en main propre uniquement").
        if p.history or not p.opener:
            return None
        signature = template_signature(item.text, self.settings.campaign_min_tokens)
        if signature is None:
            return None
        recipient = item.recipient_id or item.conversation_id or item.id
        return TemplateMessage(item.id, signature, recipient, item.sender.id if item.sender else None)

    def _context(self, p: _Prepared) -> ScoreContext:
        reasons: list[Reason] = []
        if p.campaign is not None:
            reason = campaign_reason(p.campaign, p.item.text, self.params)
            if reason is not None:
                reasons.append(reason)
        observations = [
            EntityObservation(
                entity=e,
                accounts=p.entity_counts.get(e.key, 0),
                blocked=e.key in p.blocks,
                blocked_detail=p.blocks[e.key].detail() if e.key in p.blocks else None,
            )
            for e in p.entities
        ]
        reasons.extend(entity_reasons(observations, self.params))
        sender = p.item.sender
        if sender is not None and sender.id:
            history = p.blocks.get(account_key(sender.id))
            base = p.sender or SenderObservation(sender.id, account_age_days=sender.account_age_days)
            if history is not None:
                base = SenderObservation(
                    sender_id=base.sender_id,
                    per_minute=base.per_minute,
                    per_hour=base.per_hour,
                    conversations_per_hour=base.conversations_per_hour,
                    account_age_days=base.account_age_days,
                    payees=base.payees,
                    confirmed_scams=history.entries,
                    confirmed_category=_category(history.category),
                )
            reasons.extend(sender_reasons(base, self.params))
        return ScoreContext(reasons=tuple(reasons), history=p.history)


def _category(value: str | None) -> Category | None:
    try:
        return Category(value) if value else None
    except ValueError:
        return None
