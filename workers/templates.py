"""Redis store of message templates seen within the campaign window (near-duplicate detection).

Each template has an id, its first message's MinHash signature and three time-scored sets: the
recipients it reached, the accounts that sent it and a few example submission ids. Lookup goes
through LSH band keys (`scoring.minhash.band_keys`): each band of a template's signature points at
the template id, so a new message finds its candidates with exact GETs, then `similarity` confirms
them. Everything expires one window after its last use, so memory is bounded by one window of
distinct templates.

A batch costs three round trips whatever its size: one MGET of every message's band keys, one MGET of
the candidates' signatures, then the writes, counts and reads, queued on the caller's `RedisBatch`
together with the other signals (one script call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis

from scoring.minhash import TemplateSignature, band_keys, similarity
from scoring.signal_reasons import CampaignObservation
from workers.entity_index import PREFIX, RedisBatch, Touch, digest

EXAMPLES_KEPT = 5
# A band key shared by many unrelated templates is noise: look at a bounded number of candidates.
MAX_CANDIDATES = 32


def _band(key: str) -> str:
    return f"{PREFIX}:tpl-band:{key}"


def _sig(template_id: str) -> str:
    return f"{PREFIX}:tpl-sig:{template_id}"


def _set(template_id: str, what: str) -> str:
    return f"{PREFIX}:tpl-{what}:{template_id}"


@dataclass(frozen=True)
class TemplateMessage:
    """One message to match: its signature and who it goes to."""

    submission_id: str
    signature: TemplateSignature
    recipient: str  # recipient id, or the conversation id when the platform did not say
    sender_id: str | None


@dataclass(frozen=True)
class TemplateMatch:
    """The template a message belongs to (`is_new`: this message starts it)."""

    template_id: str
    similarity: float
    is_new: bool


class TemplateStore:
    """Finds the template of each message and counts its reach (see the module docstring)."""

    def __init__(self, redis: Redis, window_s: float, min_similarity: float) -> None:
        self.redis = redis
        self.window_s = window_s
        self.min_similarity = min_similarity

    def match(self, messages: Sequence[TemplateMessage]) -> list[TemplateMatch]:
        """The template of each message: the most similar known one, or a new template (messages of
        the same batch match each other too)."""
        if not messages:
            return []
        # One MGET for the whole batch (one command to pack and one reply to parse, not one per message).
        per_message = [[_band(key) for key in band_keys(msg.signature)] for msg in messages]
        values = self.redis.mget([key for keys in per_message for key in keys])
        candidates: list[list[str]] = []
        position = 0
        for keys in per_message:
            hits = values[position : position + len(keys)]
            position += len(keys)
            candidates.append(list(dict.fromkeys(_text(v) for v in hits if v is not None))[:MAX_CANDIDATES])
        wanted = sorted({c for cs in candidates for c in cs})
        known: dict[str, TemplateSignature] = {}
        if wanted:
            for template_id, raw in zip(wanted, self.redis.mget([_sig(t) for t in wanted]), strict=True):
                if isinstance(raw, bytes):
                    try:
                        known[template_id] = TemplateSignature.from_bytes(raw)
                    except ValueError:
                        continue  # a corrupt or foreign value: treat as unknown, it will expire
        matches: list[TemplateMatch] = []
        for msg, cands in zip(messages, candidates, strict=True):
            best: tuple[float, str] | None = None
            for template_id in [*cands, *(m.template_id for m in matches if m.is_new)]:
                sig = known.get(template_id)
                if sig is None:
                    continue
                sim = similarity(msg.signature, sig)
                if sim >= self.min_similarity and (best is None or sim > best[0]):
                    best = (sim, template_id)
            if best is not None:
                matches.append(TemplateMatch(best[1], best[0], False))
            else:
                template_id = msg.submission_id[:32]
                known[template_id] = msg.signature
                matches.append(TemplateMatch(template_id, 1.0, True))
        return matches

    def queue_record(self, batch: RedisBatch, msg: TemplateMessage, match: TemplateMatch) -> list[Touch]:
        """Queue the signature writes of `msg` under its template; returns the touches to run with the
        message's others (counts: distinct recipients, distinct senders, then examples)."""
        ttl = max(1, int(self.window_s))
        tid = match.template_id
        if match.is_new:
            batch.set(_sig(tid), msg.signature.to_bytes(), ttl)
            for key in band_keys(msg.signature):
                batch.set(_band(key), tid, ttl, nx=True)
        else:
            batch.expire(_sig(tid), ttl)
        sender = digest(msg.sender_id) if msg.sender_id else None
        return [
            Touch(_set(tid, "rcpt"), digest(msg.recipient), self.window_s),
            Touch(_set(tid, "snd"), sender, self.window_s),
            Touch(_set(tid, "ex"), msg.submission_id, self.window_s, cap=EXAMPLES_KEPT),
        ]

    def queue_examples(self, batch: RedisBatch, match: TemplateMatch) -> int:
        """Queue the read of the template's latest example ids (after the touches); returns its index."""
        return batch.latest(_set(match.template_id, "ex"), EXAMPLES_KEPT)

    @staticmethod
    def observation(
        msg: TemplateMessage, match: TemplateMatch, counts: Sequence[int], examples: Sequence[Any]
    ) -> CampaignObservation:
        """The campaign observation of `msg` from its touch counts (recipients, senders) and the
        example ids read back."""
        return CampaignObservation(
            template_id=match.template_id,
            recipients=int(counts[0]),
            senders=int(counts[1]),
            similarity=match.similarity,
            examples=tuple(_text(e) for e in examples if _text(e) != msg.submission_id),
        )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
