"""Fixtures for the scoring unit tests: one rules-only scorer per session (no model artifacts, so the
detector tests check the rules themselves; the engine test covers the model path)."""

from __future__ import annotations

import pytest

from scoring.engine import Scorer
from scoring.lookalike import DomainAnalyzer
from scoring.rulepack import load_rulepack


@pytest.fixture(scope="session")
def rules_scorer() -> Scorer:
    return Scorer(load_rulepack(), analyzer=DomainAnalyzer.default())
