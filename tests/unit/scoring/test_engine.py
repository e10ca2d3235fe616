"""The Scorer end to end: versions, batching, model-only flags, contract of every result."""

from __future__ import annotations

from collections.abc import Sequence

from scoring.detectors import has_prose
from scoring.engine import Scorer, guess_lang
from scoring.lookalike import DomainAnalyzer
from scoring.rulepack import load_rulepack
from scoring.types import Kind, ScoreInput, Sender, Verdict


class FixedModel:
    """A real object with the TextModel interface returning a fixed probability (a test double for the
    model boundary: the model's own behaviour is tested in test_model*.py)."""

    version = "fixed-1"

    def __init__(self, p: float) -> None:
        self.p = p
        self.calls: list[int] = []

    def predict_many(self, texts: Sequence[str]) -> list[float]:
        self.calls.append(len(texts))
        return [self.p] * len(texts)

    def predict_one(self, text: str) -> float:
        self.calls.append(1)
        return self.p


def test_versions(rules_scorer: Scorer) -> None:
    assert rules_scorer.model_version == "none"
    assert rules_scorer.rules_version == load_rulepack().version


def test_score_many_batches_model_calls_and_matches_score() -> None:
    model = FixedModel(0.1)
    scorer = Scorer(load_rulepack(), text_model=model, analyzer=DomainAnalyzer.default())
    items = [
        ScoreInput(id=str(i), kind=Kind.MESSAGE, text=f"message {i} paypal entre proches") for i in range(12)
    ]
    batch = scorer.score_many(items)
    assert model.calls == [12]  # one matrix call for the batch
    model.calls.clear()
    scorer.score_many(items[:3])
    assert model.calls == [1, 1, 1]  # small batches take the one-text path
    assert [r.to_dict() for r in batch] == [scorer.score(i).to_dict() for i in items]
    assert scorer.model_version == "text:fixed-1"


def test_model_only_flag_carries_a_span() -> None:
    scorer = Scorer(load_rulepack(), text_model=FixedModel(0.995), analyzer=DomainAnalyzer.default())
    text = "Bonjour. Le transporteur arrive, il faut juste valider. Merci"
    result = scorer.score(ScoreInput(id="m", kind=Kind.MESSAGE, text=text))
    assert result.verdict in (Verdict.WARN, Verdict.REVIEW)
    assert result.reasons and all(r.span is not None for r in result.reasons)
    s, e = result.reasons[0].span or (0, 0)
    assert text[s:e] == result.reasons[0].evidence


def test_model_only_without_anything_to_show_is_allowed() -> None:
    scorer = Scorer(load_rulepack(), text_model=FixedModel(0.995), analyzer=DomainAnalyzer.default())
    result = scorer.score(ScoreInput(id="m", kind=Kind.MESSAGE, text="bonjour"))
    assert result.verdict is Verdict.ALLOW


def test_every_non_allow_result_has_spanned_reasons_and_categories(rules_scorer: Scorer) -> None:
    item = ScoreInput(
        id="x",
        kind=Kind.MESSAGE,
        text="Ecris moi sur WhatsApp au 06 12 34 56 78",
        sender=Sender(account_age_days=0),
    )
    result = rules_scorer.score(item)
    assert result.verdict is not Verdict.ALLOW
    assert result.categories
    assert all(r.span is not None for r in result.reasons)
    d = result.to_dict()
    assert 0.0 <= d["score"] <= 1.0 and d["rules_version"] and d["model_version"] == "none"


def test_guess_lang() -> None:
    assert guess_lang("bonjour je vous envoie le colis") == "fr"
    assert guess_lang("hello i will send you the parcel") == "en"


def test_a_bare_link_is_not_prose_for_the_model_alone() -> None:
    scorer = Scorer(load_rulepack())

    def prose(text: str) -> bool:
        return has_prose(scorer._contexts(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))[0])

    assert not prose("amazon-fr.com")
    assert not prose("https://paypal-secure-login.com/account/verify")
    assert not prose("regarde bit.ly/x3Yz")
    assert prose("Bonjour, voici le lien : lbc-x.com")
