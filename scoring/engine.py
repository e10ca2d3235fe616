"""The Scorer: rules + models -> `ScoreResult`, loaded once per process.

`Scorer.load()` reads the rule pack, the domain analyzer's brand list and the model artifacts once;
`score` / `score_many` are then pure and thread-safe (immutable state, thread-safe caches).
`score_many` batches the text-model and URL-model calls across items, which is where batching pays.
A missing model artifact is not an error: the scorer runs on rules alone and reports
`model_version == "none"` (an explicitly given path that does not exist is an error).
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from scoring.conversation import match_script
from scoring.detectors import (
    FieldContext,
    LinkJudge,
    PhraseMatcher,
    asks_about,
    build_context,
    denied,
    detect_field,
    has_prose,
)
from scoring.extract import luhn_is_valid
from scoring.fusion import context_factor, fuse
from scoring.normalize import normalize
from scoring.policy import decide
from scoring.rulepack import RulePack, combined_rules_version, load_brands, load_rulepack
from scoring.text_analysis import analyze_text
from scoring.types import Category, Kind, Reason, ScoreContext, ScoreInput, ScoreResult, Verdict

# Lexicons that say nothing about a mechanism on their own (used to pick a model-only reason's category).
_GENERIC_LEXICONS = frozenset({"negation", "negation_exempt", "pay_verb", "click", "give_request", "only"})
_FR_WORDS = re.compile(r"\b(?:je|vous|le|la|les|est|pas|pour|votre|merci|bonjour|avec|une|des|du|et)\b")
_EN_WORDS = re.compile(r"\b(?:i|you|the|is|not|for|your|thanks|hello|with|and|to|of|my|please)\b")
# Below this many texts a model call scores each text with a plain-Python dot product: building a scipy
# sparse matrix costs ≈0.2 ms of fixed overhead, which dominated single-message latency (p99).
_SPARSE_BATCH_MIN = 8


def _predict(model: Any, texts: Sequence[str]) -> list[float]:
    """Model probabilities of `texts`, by the cheapest path for the batch size (same values either way)."""
    one = getattr(model, "predict_one", None)
    if one is not None and len(texts) < _SPARSE_BATCH_MIN:
        return [float(one(t)) for t in texts]
    return [float(p) for p in model.predict_many(texts)]


def guess_lang(normalized_text: str) -> str | None:
    """'fr' or 'en' from function-word counts on the first 400 characters; None when undecided."""
    head = normalized_text[:400]
    fr = len(_FR_WORDS.findall(head))
    en = len(_EN_WORDS.findall(head))
    if fr == en:
        return None
    return "fr" if fr > en else "en"


class Scorer:
    """Scores content with the rule pack, the domain analyzer and (when present) the models."""

    def __init__(
        self,
        pack: RulePack,
        text_model: Any | None = None,
        url_model: Any | None = None,
        analyzer: Any | None = None,
        brands_version: str | None = None,
    ) -> None:
        if pack.fusion.url_model_min_p is None:
            # "model": the URL model's own operating threshold (no URL model: its reason never appears).
            own = float(url_model.threshold) if url_model is not None else 1.0
            pack = dataclasses.replace(pack, fusion=dataclasses.replace(pack.fusion, url_model_min_p=own))
        self.pack = pack
        self.analyzer = analyzer
        self.text_model = text_model
        self.url_model = url_model
        self.matcher = PhraseMatcher(pack.lexicons)
        self.links = LinkJudge(analyzer)
        # The brand list changes verdicts too, so its version is part of rules_version when known.
        self.rules_version = combined_rules_version(pack.version, brands_version)
        parts = []
        if text_model is not None:
            parts.append(f"text:{text_model.version}")
        if url_model is not None:
            parts.append(f"url:{url_model.version}")
        self.model_version = "+".join(parts) if parts else "none"
        self._lexicon_category: dict[str, Category] = {}
        for rule in pack.rules:
            for group in rule.groups:
                if not group.startswith("@") and group not in _GENERIC_LEXICONS:
                    self._lexicon_category.setdefault(group, rule.category)

    @classmethod
    def load(
        cls,
        model_path: str | None = None,
        url_model_path: str | None = None,
        rules_path: str | None = None,
        brands_path: str | None = None,
    ) -> Scorer:
        """Load the rule pack, the domain analyzer and the models (shipped artifacts when paths are None)."""
        pack = load_rulepack(rules_path)
        brands = load_brands(brands_path)
        text_model = url_model = analyzer = None
        try:
            from scoring import model as model_module
        except ImportError:  # the model module is optional: rules alone still score
            model_module = None  # type: ignore[assignment]
        if model_module is not None:
            text_model = _load_optional(model_module.TextModel, model_path)
            url_model = _load_optional(model_module.UrlModel, url_model_path)
        try:
            from scoring.lookalike import DomainAnalyzer
        except ImportError:
            DomainAnalyzer = None  # type: ignore[assignment,misc]
        if DomainAnalyzer is not None:
            # The shipped list's analyzer is cached process-wide; another list is indexed here.
            analyzer = (
                DomainAnalyzer.default() if brands_path is None else DomainAnalyzer.from_toml(brands.data)
            )
        return cls(
            pack, text_model=text_model, url_model=url_model, analyzer=analyzer, brands_version=brands.version
        )

    # --- scoring -------------------------------------------------------------------------------------

    def score(self, item: ScoreInput, context: ScoreContext | None = None) -> ScoreResult:
        """Score one item (same result as `score_many([item], [context])[0]`)."""
        return self.score_many([item], None if context is None else [context])[0]

    def score_many(
        self, items: Sequence[ScoreInput], contexts: Sequence[ScoreContext | None] | None = None
    ) -> list[ScoreResult]:
        """Score a batch; model calls are made once for the whole batch.

        `contexts` (one per item, or None) adds signal reasons and the conversation history: they are
        fused with the item's own reasons by the same fusion and policy (see `ScoreContext`).
        """
        if contexts is not None and len(contexts) != len(items):
            raise ValueError("score_many: one context per item (or None)")
        signals = list(contexts) if contexts is not None else [None] * len(items)
        contexts_ = [self._contexts(item) for item in items]
        model_ps = self._text_probabilities(items, contexts_)
        url_probs = self._url_probabilities(contexts_)
        results = []
        for item, ctxs, p, signal in zip(items, contexts_, model_ps, signals, strict=True):
            if url_probs:
                ctxs = [dataclasses.replace(c, url_probs=url_probs) for c in ctxs]
            results.append(self._result(item, ctxs, p, signal))
        return results

    def _contexts(self, item: ScoreInput) -> list[FieldContext]:
        fields = [("text", item.text or "")]
        if item.title:
            fields.append(("title", item.title))
        contexts = []
        for name, value in fields:
            # Shared with the signals gathered for the same item (see scoring.text_analysis).
            analysis = analyze_text(value)
            contexts.append(
                build_context(
                    name, item.kind, value, self.pack, self.matcher, self.links,
                    norm=analysis.norm, entities=analysis.entities,
                )
            )  # fmt: skip
        return contexts

    def _text_probabilities(
        self, items: Sequence[ScoreInput], contexts: list[list[FieldContext]]
    ) -> list[float | None]:
        if self.text_model is None or not items:
            return [None] * len(items)
        texts = []
        for item, ctxs in zip(items, contexts, strict=True):
            by_field = {c.field: c.norm.text for c in ctxs}
            if item.kind is Kind.LISTING:
                texts.append(by_field.get("title", "") + "\n" + by_field["text"])
            else:
                texts.append(by_field["text"])
        return list[float | None](_predict(self.text_model, texts))

    def _url_probabilities(self, contexts: list[list[FieldContext]]) -> dict[str, float]:
        if self.url_model is None:
            return {}
        urls = sorted(
            {
                u.value
                for ctxs in contexts
                for c in ctxs
                for u in c.entities.urls
                if not self.links.is_allowed(u.value)
            }
        )
        if not urls:
            return {}
        return dict(zip(urls, _predict(self.url_model, urls), strict=True))

    def _result(
        self,
        item: ScoreInput,
        ctxs: list[FieldContext],
        model_p: float | None,
        signal: ScoreContext | None = None,
    ) -> ScoreResult:
        reasons: list[Reason] = []
        for ctx in ctxs:
            reasons.extend(detect_field(ctx))
        sender = item.sender
        scripted = None
        if signal is not None:
            # Scripts are matched on the message's own reasons, before signal reasons join them.
            scripted = match_script(signal.history, reasons, sender.id if sender else None)
            reasons.extend(signal.reasons)
            if scripted is not None:
                reasons.append(scripted)
        siret_valid = bool(sender and sender.siret and _siret_ok(sender.siret))
        fused = fuse(
            reasons,
            model_p,
            self.pack.fusion,
            context_factor(sender, self.pack.context, siret_valid),
            denied=self._denied(ctxs, model_p),
            prose=any(has_prose(c) for c in ctxs),
        )
        signalled = signal is not None and (bool(signal.reasons) or scripted is not None)
        asked = any(asks_about(ctx) for ctx in ctxs)
        verdict = decide(fused, item.kind, self.pack, vetoable=not signalled, asked=asked)
        if verdict is not Verdict.ALLOW and not any(r.span is not None for r in reasons):
            anchor = self._model_reason(ctxs, model_p or 0.0)
            if anchor is None:
                verdict = Verdict.ALLOW  # nothing in the text to show a moderator: do not flag blind
            else:
                reasons.append(anchor)
        reasons.sort(key=lambda r: (-r.weight, r.field, r.span or (0, 0)))
        categories: tuple[Category, ...] = ()
        if verdict is not Verdict.ALLOW:
            by_cat: dict[Category, float] = dict(fused.by_category)
            for r in reasons:
                by_cat.setdefault(r.category, r.weight)
            categories = tuple(sorted(by_cat, key=lambda c: -by_cat[c]))
        lang = item.lang or guess_lang(ctxs[0].norm.text)
        return ScoreResult(
            id=item.id,
            score=round(fused.score, 6),
            verdict=verdict,
            categories=categories,
            reasons=tuple(reasons),
            model_version=self.model_version,
            rules_version=self.rules_version,
            lang=lang,
        )

    def _denied(self, ctxs: list[FieldContext], model_p: float | None) -> bool:
        # Only asked when the model alone could flag: the check re-runs the negatable rules.
        if model_p is None or model_p < self.pack.fusion.model_only_min_p:
            return False
        return any(denied(ctx) for ctx in ctxs)

    def _model_reason(self, ctxs: list[FieldContext], p: float) -> Reason | None:
        """The most suspicious span for a model-only flag: a link, a contact, or the richest sentence."""
        for ctx in ctxs:
            ents = ctx.entities
            for group, category in (
                (ents.urls, Category.PHISHING_LINK), (ents.emails, Category.OFF_PLATFORM),
                (ents.phones, Category.OFF_PLATFORM), (ents.handles, Category.OFF_PLATFORM),
                (ents.ibans, Category.EXTERNAL_PAYMENT), (ents.crypto, Category.EXTERNAL_PAYMENT),
            ):  # fmt: skip
                if group:
                    ent = group[0]
                    return _model_only_reason(ctx, ent.span, category, p)
        # Otherwise the sentence holding the most mechanism phrases, labelled with their commonest category.
        best: tuple[int, FieldContext, int, Category] | None = None
        for ctx in ctxs:
            per_sentence: dict[int, list[tuple[int, Category]]] = {}
            for name, spans in ctx.hits.items():
                lexicon_category = self._lexicon_category.get(name)
                if lexicon_category is None:
                    continue
                for start, _ in spans:
                    per_sentence.setdefault(bisect.bisect_left(ctx.sentence_breaks, start), []).append(
                        (start, lexicon_category)
                    )
            for sentence, hits in per_sentence.items():
                if best is None or len(hits) > best[0]:
                    best = (len(hits), ctx, sentence, _commonest(hits))
        if best is None:
            return None
        _, ctx, sentence, category = best
        breaks = ctx.sentence_breaks
        lo = breaks[sentence - 1] + 1 if sentence > 0 else 0
        hi = breaks[sentence] + 1 if sentence < len(breaks) else len(ctx.norm.text)
        return _model_only_reason(ctx, ctx.norm.to_original(lo, hi), category, p)


def _commonest(hits: list[tuple[int, Category]]) -> Category:
    """The category of the most hits; a tie goes to the one written first (a set's order would make
    the label depend on the process's hash seed)."""
    counts: dict[Category, int] = {}
    first: dict[Category, int] = {}
    for start, category in hits:
        counts[category] = counts.get(category, 0) + 1
        first[category] = min(start, first.get(category, start))
    return max(counts, key=lambda c: (counts[c], -first[c]))


def _model_only_reason(ctx: FieldContext, span: tuple[int, int], category: Category, p: float) -> Reason:
    start, end = span
    return Reason(
        code="model.suspicious_text",
        category=category,
        weight=0.0,  # explanatory only: the score already carries the model's probability
        evidence=ctx.original[start:end][:300],
        span=(start, end),
        field=ctx.field,
        detail={"probability": round(p, 4)},
    )


def _siret_ok(siret: str) -> bool:
    digits = "".join(c for c in siret if c.isdigit())
    return len(digits) == 14 and luhn_is_valid(digits)


def _load_optional(model_cls: Any, path: str | None) -> Any | None:
    try:
        return model_cls.load(path)
    except FileNotFoundError:
        if path is not None:
            raise
        return None


__all__ = ["Scorer", "guess_lang", "normalize"]
