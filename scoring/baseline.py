"""The yardstick Vigie is measured against: plain word TF-IDF + logistic regression on raw text.

No normalisation, no rules, no URL analysis, default threshold 0.5: what a team would get in an
afternoon with scikit-learn. `vigie evaluate` trains it on the same training data as the TextModel and
`bench/bench_scoring.py` times it next to the Scorer.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from scoring.training import SEED

BASELINE_THRESHOLD = 0.5


def baseline_input(text: str, title: str | None = None) -> str:
    """The baseline's input for raw content: title and text joined, untouched."""
    return f"{title}\n{text}" if title else text


class Baseline:
    """TF-IDF (word unigrams and bigrams) + LogisticRegression, fitted by `fit`."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.threshold = BASELINE_THRESHOLD

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[int]) -> Baseline:
        """Train on raw texts; deterministic for the same inputs."""
        pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            LogisticRegression(max_iter=2000, random_state=SEED),
        )
        pipeline.fit(list(texts), list(labels))
        return cls(pipeline)

    def predict_many(self, texts: Sequence[str]) -> list[float]:
        """P(scam) per text as the pipeline's `predict_proba` gives it."""
        if not texts:
            return []
        return [float(p) for p in self.pipeline.predict_proba(list(texts))[:, 1]]

    def predict_one(self, text: str) -> float:
        """P(scam) of one text, the way a naive service would call it (one `predict_proba` per input)."""
        return float(self.pipeline.predict_proba([text])[0, 1])
