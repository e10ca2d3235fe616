"""What every detector sees about one field: its texts, entities, phrase hits and link judgments."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Protocol

from scoring.detectors.phrases import Hit, PhraseMatcher
from scoring.extract import Entities, extract
from scoring.normalize import Normalized, normalize
from scoring.rulepack import RulePack
from scoring.types import Category, Kind

# A pathological text ("en en en ...") must not make rule evaluation quadratic.
MAX_HITS_PER_GROUP = 400


class Signal(Protocol):
    """Shape of `scoring.lookalike.DomainSignal` (kept structural so detectors do not depend on it)."""

    @property
    def code(self) -> str: ...
    @property
    def category(self) -> Category: ...
    @property
    def weight(self) -> float: ...
    @property
    def detail(self) -> dict[str, Any]: ...


class DomainJudge(Protocol):
    def assess_url(self, url: str) -> list[Any]: ...
    def assess_email(self, address: str) -> list[Any]: ...
    def is_allowed(self, host: str) -> bool: ...


# Used only when the domain analyzer cannot be loaded: the platform's own domains are never "external".
_FALLBACK_ALLOWED = ("leboncoin.fr", "leboncoin.com", "lbc.fr")


class LinkJudge:
    """Caches the domain analyzer's answers (the same links recur across a campaign); thread-safe."""

    def __init__(self, analyzer: DomainJudge | None, cache_size: int = 16384) -> None:
        self.analyzer = analyzer
        self.assess_url = functools.lru_cache(maxsize=cache_size)(self._assess_url)
        self.assess_email = functools.lru_cache(maxsize=cache_size)(self._assess_email)
        self.is_allowed = functools.lru_cache(maxsize=cache_size)(self._is_allowed)

    def _assess_url(self, url: str) -> tuple[Any, ...]:
        return tuple(self.analyzer.assess_url(url)) if self.analyzer is not None else ()

    def _assess_email(self, address: str) -> tuple[Any, ...]:
        return tuple(self.analyzer.assess_email(address)) if self.analyzer is not None else ()

    def _is_allowed(self, url: str) -> bool:
        if self.analyzer is not None:
            return bool(self.analyzer.is_allowed(url))
        host = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
        return any(host == d or host.endswith("." + d) for d in _FALLBACK_ALLOWED)


@dataclass(frozen=True, slots=True)
class FieldContext:
    field: str  # "text" | "title"
    kind: Kind
    original: str
    norm: Normalized
    entities: Entities
    hits: Mapping[str, list[Hit]]  # lexicon name or entity group -> spans in norm.text
    pack: RulePack
    links: LinkJudge
    url_probs: Mapping[str, float] = dataclass_field(
        default_factory=dict
    )  # URL value -> UrlModel P(phishing)
    sentence_breaks: tuple[int, ...] = ()  # positions in norm.text of . ! ? and newlines
    clause_breaks: tuple[int, ...] = ()  # sentence breaks plus , ; : and "mais"/"but" (negation scope)


_HANDLE_GROUPS = {
    "paypal": "@handle_paypal", "whatsapp": "@handle_whatsapp", "telegram": "@handle_telegram",
    "lydia": "@handle_lydia", "revolut": "@handle_revolut", "at": "@handle_at",
}  # fmt: skip


def _entity_hits(entities: Entities, links: LinkJudge) -> dict[str, list[Hit]]:
    groups: dict[str, list[Hit]] = {}

    def add(group: str, span: Hit) -> None:
        groups.setdefault(group, []).append(span)

    for url in entities.urls:
        add("@url", url.norm_span)
        add("@url_external" if not links.is_allowed(url.value) else "@url_allowed", url.norm_span)
    for kind, group in (
        (entities.emails, "@email"), (entities.phones, "@phone"), (entities.ibans, "@iban"),
        (entities.crypto, "@crypto"), (entities.iban_like, "@iban_like"),
        (entities.crypto_like, "@crypto_like"), (entities.amounts, "@amount"), (entities.sirets, "@siret"),
    ):  # fmt: skip
        for ent in kind:
            add(group, ent.norm_span)
    for handle in entities.handles:
        add(_HANDLE_GROUPS.get(handle.detail.get("service", ""), "@handle_at"), handle.norm_span)
    for spans in groups.values():
        spans.sort()
    return groups


def _unmasked(spans: list[Hit], masking: list[Hit]) -> list[Hit]:
    """`spans` without those overlapping a masking span."""
    if not masking:
        return spans
    return [(a, b) for a, b in spans if not any(a < me and ms < b for ms, me in masking)]


# A sentence ends at . ! ? or a newline followed by a space/end (so "x.com" or "99.90" do not split).
_SENTENCE_BREAK = re.compile(r"[.!?](?=\s|$)|\n")
# A negation governs its own clause only: "je ne passe pas par le site, virement seulement" denies the
# site, not the transfer. Clauses end at , ; : followed by a space, before "mais"/"but"/"par contre", and at
# an emoji, which chat writers use as punctuation ("je suis pas un fake 😂 envoie moi ta carte").
_CLAUSE_BREAK = re.compile(
    r"[.!?,;:](?=\s|$)|\n|\s(?=(?:mais|but|par contre|sauf)\s)|[\u2600-\u27bf\U0001f300-\U0001faff]"
)


def build_context(
    field_name: str,
    kind: Kind,
    original: str,
    pack: RulePack,
    matcher: PhraseMatcher,
    links: LinkJudge,
    url_probs: Mapping[str, float] | None = None,
    norm: Normalized | None = None,
    entities: Entities | None = None,
) -> FieldContext:
    """Normalise, extract and match one field once, for all detectors (`norm` and `entities`, when
    given, must be `normalize(original)` and `extract(original, norm)`: computed once, shared)."""
    norm = norm if norm is not None else normalize(original)
    entities = entities if entities is not None else extract(original, norm)
    hits: dict[str, list[Hit]] = {
        name: spans[:MAX_HITS_PER_GROUP] for name, spans in matcher.find(norm.text).items()
    }
    for name, maskers in pack.masks.items():
        if name in hits:
            hits[name] = _unmasked(hits[name], [h for m in maskers for h in hits.get(m, ())])
    hits.update(_entity_hits(entities, links))
    breaks = tuple(m.start() for m in _SENTENCE_BREAK.finditer(norm.text))
    clauses = tuple(m.start() for m in _CLAUSE_BREAK.finditer(norm.text))
    return FieldContext(
        field=field_name,
        kind=kind,
        original=original,
        norm=norm,
        entities=entities,
        hits=hits,
        pack=pack,
        links=links,
        url_probs=url_probs or {},
        sentence_breaks=breaks,
        clause_breaks=clauses,
    )


# Words (two letters or more) a field needs outside its links and e-mail addresses to count as prose. The
# text model learnt from messages; on a bare link or host name ("paypal-secure.io") it reads a few URL words,
# so its verdict alone needs the stricter `model_only_min_p_bare` there (fusion.fuse); the
# engine and the fusion tuners ask it of every field.
MIN_PROSE_WORDS = 2
_PROSE_WORD = re.compile(r"[a-z]{2,}")


def has_prose(ctx: FieldContext) -> bool:
    text = ctx.norm.text
    spans = sorted(e.norm_span for e in (*ctx.entities.urls, *ctx.entities.emails))
    words, pos = 0, 0
    for start, end in [*spans, (len(text), len(text))]:
        words += len(_PROSE_WORD.findall(text, pos, max(pos, start)))
        if words >= MIN_PROSE_WORDS:
            return True
        pos = max(pos, end)
    return False
