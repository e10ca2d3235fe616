"""Redis store of message templates seen within the campaign window (near-duplicate detection).

Each template has an id, its first message's MinHash signature and three time-scored sets: the
recipients it reached, the accounts that sent it and a few example submission ids. Lookup goes
through LSH band keys (`scoring.minhash.band_keys`): each band of a template's signature points at
the template id, so a new message finds its candidates with exact GETs, then `similarity` confirms
them. Everything expires one window after its last use, so memory is bounded by one window of
distinct templates.

A batch costs three round trips whatever its size: band lookups, candidate signatures, then the
writes and counts (queued on the caller's pipeline together with the other signals).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.client import Pipeline

from scoring.minhash import TemplateSignature, band_keys, similarity
from scoring.signal_reasons import CampaignObservation
from workers.entity_index import PREFIX, Touch, digest

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
        pipe = self.redis.pipeline(transaction=False)
        for msg in messages:
            pipe.mget([_band(key) for key in band_keys(msg.signature)])
        candidates: list[list[str]] = [
            list(dict.fromkeys(_text(v) for v in hits if v is not None))[:MAX_CANDIDATES]
            for hits in pipe.execute()
        ]
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

    def queue_record(self, pipe: Pipeline, msg: TemplateMessage, match: TemplateMatch) -> list[Touch]:
        """Queue the signature writes of `msg` under its template; returns the touches to run with the
        message's others (counts: distinct recipients, distinct senders, then examples)."""
        ttl = max(1, int(self.window_s))
        tid = match.template_id
        if match.is_new:
            pipe.set(_sig(tid), msg.signature.to_bytes(), ex=ttl)
            for key in band_keys(msg.signature):
                pipe.set(_band(key), tid, ex=ttl, nx=True)
        else:
            pipe.expire(_sig(tid), ttl)
        sender = digest(msg.sender_id) if msg.sender_id else None
        touches = [
            Touch(_set(tid, "rcpt"), digest(msg.recipient), self.window_s),
            Touch(_set(tid, "snd"), sender, self.window_s),
            Touch(_set(tid, "ex"), msg.submission_id, self.window_s, cap=EXAMPLES_KEPT),
        ]
        return touches

    def queue_examples(self, pipe: Pipeline, match: TemplateMatch) -> int:
        """Queue the read of the template's latest example ids (after the touches); returns its index."""
        index = len(pipe)
        pipe.zrevrange(_set(match.template_id, "ex"), 0, EXAMPLES_KEPT - 1)
        return index

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
