"""A verdict just stored for one revision, carrying what its side effects need.

The batch recording path (`assessments.record_assessments`) reads every submission and revision of
a batch in one query and hands these to the review queue and the safety warnings, so that neither
reads them again row by row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moderation.models import Submission


@dataclass(frozen=True)
class RecordedVerdict:
    submission: Submission
    revision: int
    payload: Mapping[str, Any]  # the revision's stored payload ({} when the revision row is missing)
    score: float
    verdict: str
    categories: list[str]
    reasons: list[Mapping[str, Any]]
