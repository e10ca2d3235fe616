"""Shadow mode through the real worker path: a candidate rule pack scores live traffic beside the
active one, its verdicts are recorded, and it never acts (no warning, review item or webhook)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from moderation.models import Assessment, WebhookEvent
from moderation.review_models import ReviewItem
from moderation.settings import Settings
from moderation.shadow_models import ShadowAssessment
from moderation.submissions import SubmissionContent, SubmitOutcome, submit
from moderation.user_models import SafetyWarning
from scoring.types import Kind, ScoreContext, ScoreInput, ScoreResult
from tests.learning.conftest import CANDIDATE_PHRASE
from workers import jobs
from workers.context import WorkerContext, build_context, set_context
from workers.queues import enqueue_score, enqueue_score_batch
from workers.shadow import ShadowScorer, wrap_for_shadow
from workers.worker import make_worker

BENIGN_WITH_PHRASE = f"Bonjour, je vends aussi un {CANDIDATE_PHRASE} assorti, toujours disponible si besoin."
BENIGN = "Bonjour, le vélo est-il toujours disponible ? Je peux passer samedi matin."
SCAM = "Je vous paie par PayPal entre amis, écrivez-moi sur WhatsApp au 06 12 34 56 78."


@pytest.fixture
def shadow_settings(settings: Settings, candidate_rules: Path) -> Settings:
    return dataclasses.replace(
        settings,
        shadow_rules_path=str(candidate_rules),
        shadow_name="cand-1",
        webhook_url="http://127.0.0.1:9/",
    )


@pytest.fixture
def shadow_ctx(shadow_settings: Settings, scorer: object) -> Iterator[WorkerContext]:
    ctx = build_context(shadow_settings, scorer)  # type: ignore[arg-type]
    set_context(ctx)
    yield ctx
    set_context(None)
    ctx.engine.dispose()
    ctx.redis.close()


def _submit(session_factory: sessionmaker[Session], text_: str, external_id: str) -> SubmitOutcome:
    with session_factory() as session:
        outcome = submit(
            session,
            SubmissionContent(
                kind=Kind.MESSAGE,
                external_id=external_id,
                text=text_,
                conversation_id=f"conv-{external_id}",
                sender={"id": f"seller-{external_id}", "account_age_days": 400},
                recipient={"id": "buyer-1"},
                lang="fr",
            ),
            actor="key:test",
        )
        session.commit()
    return outcome


def _count(session_factory: sessionmaker[Session], model: type, **where: object) -> int:
    with session_factory() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query) or 0


def test_shadow_rows_recorded_for_live_traffic_and_never_acting(
    shadow_ctx: WorkerContext, session_factory: sessionmaker[Session]
) -> None:
    assert isinstance(shadow_ctx.scorer, ShadowScorer)
    changed = _submit(session_factory, BENIGN_WITH_PHRASE, "m-1")
    benign = _submit(session_factory, BENIGN, "m-2")
    scam = _submit(session_factory, SCAM, "m-3")
    # One single-item job and one batch job: both worker paths, through Redis and an RQ worker.
    assert enqueue_score(shadow_ctx.score_queue, changed.submission_id, 1)
    assert enqueue_score_batch(shadow_ctx.score_queue, [(benign.submission_id, 1), (scam.submission_id, 1)])
    assert make_worker(shadow_ctx).work(burst=True, logging_level="WARNING")

    with session_factory() as session:
        active = {a.submission_id: a for a in session.scalars(select(Assessment))}
        shadow = {s.submission_id: s for s in session.scalars(select(ShadowAssessment))}
    assert set(active) == set(shadow) == {changed.submission_id, benign.submission_id, scam.submission_id}
    # The candidate's new rule turns the phrase into a hold; the active verdict is untouched.
    assert active[changed.submission_id].verdict == "allow"
    row = shadow[changed.submission_id]
    assert (row.active_verdict, row.verdict, row.categories) == ("allow", "hold", ["advance_fee"])
    assert row.candidate_name == "cand-1" and row.rules_version.startswith("2025.4-candidate+")
    assert row.active_score == pytest.approx(active[changed.submission_id].score)
    # Where the packs agree, the shadow row repeats the active verdict.
    for outcome in (benign, scam):
        stored, shadowed = active[outcome.submission_id], shadow[outcome.submission_id]
        assert (shadowed.active_verdict, shadowed.verdict) == (stored.verdict, stored.verdict)
        assert shadowed.active_categories == stored.categories == shadowed.categories
    assert active[scam.submission_id].verdict == "hold"
    # Nothing acted on the candidate's hold: no review item, warning or webhook for that message.
    assert _count(session_factory, ReviewItem, submission_id=changed.submission_id) == 0
    assert _count(session_factory, SafetyWarning, submission_id=changed.submission_id) == 0
    assert _count(session_factory, WebhookEvent, subject_id=changed.submission_id) == 1  # the active one
    assert _count(session_factory, ReviewItem) == 1  # the active hold of the scam only
    assert shadow_ctx.scorer.counters.recorded == 3


def test_job_run_again_records_one_shadow_row(
    shadow_ctx: WorkerContext, session_factory: sessionmaker[Session]
) -> None:
    outcome = _submit(session_factory, BENIGN_WITH_PHRASE, "m-1")
    assert jobs.score_submission(outcome.submission_id, 1)["status"] == "scored"
    assert jobs.score_submission(outcome.submission_id, 1)["status"] == "already_scored"
    assert _count(session_factory, ShadowAssessment) == 1


class CrashingCandidate:
    """A candidate with a bug: raises on every call (fault injection)."""

    rules_version = model_version = "broken"

    def score(self, item: ScoreInput, context: ScoreContext | None = None, /) -> ScoreResult:
        raise RuntimeError("candidate bug")

    def score_many(
        self, items: Sequence[ScoreInput], contexts: Sequence[ScoreContext | None] | None = None, /
    ) -> list[ScoreResult]:
        raise RuntimeError("candidate bug")


def test_candidate_crash_does_not_fail_scoring(
    shadow_ctx: WorkerContext, session_factory: sessionmaker[Session], scorer: object
) -> None:
    crashing = ShadowScorer(scorer, CrashingCandidate(), "broken")  # type: ignore[arg-type]
    set_context(dataclasses.replace(shadow_ctx, scorer=crashing))
    outcome = _submit(session_factory, SCAM, "m-1")
    other = _submit(session_factory, BENIGN, "m-2")
    assert jobs.score_submission(outcome.submission_id, 1) == {"status": "scored", "verdict": "hold"}
    assert jobs.score_submissions([[other.submission_id, 1]]) == {"scored": 1}
    assert _count(session_factory, Assessment) == 2
    assert _count(session_factory, ReviewItem, submission_id=outcome.submission_id) == 1
    assert _count(session_factory, ShadowAssessment) == 0
    assert crashing.counters.candidate_errors == 2 and crashing.counters.recorded == 0


def test_shadow_write_failure_does_not_fail_the_job(
    shadow_ctx: WorkerContext, session_factory: sessionmaker[Session]
) -> None:
    # The shadow table is gone (say, a migration not yet applied): the active verdict is still recorded.
    with shadow_ctx.engine.begin() as conn:
        conn.execute(text("DROP TABLE shadow_assessments"))
    outcome = _submit(session_factory, SCAM, "m-1")
    assert jobs.score_submission(outcome.submission_id, 1) == {"status": "scored", "verdict": "hold"}
    assert _count(session_factory, Assessment) == 1
    assert isinstance(shadow_ctx.scorer, ShadowScorer)
    assert shadow_ctx.scorer.counters.record_errors == 1


def test_shadow_off_without_candidate_paths(settings: Settings, scorer: object) -> None:
    assert wrap_for_shadow(settings, scorer) is scorer  # type: ignore[arg-type]


def test_unloadable_candidate_leaves_the_worker_scoring(
    settings: Settings, scorer: object, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('version = "x"\n[thresholds.message]\nwarn = 2\n', encoding="utf-8")
    wrapped = wrap_for_shadow(dataclasses.replace(settings, shadow_rules_path=str(bad)), scorer)  # type: ignore[arg-type]
    assert wrapped is scorer


def test_default_candidate_name_names_its_versions(
    settings: Settings, scorer: object, candidate_rules: Path
) -> None:
    wrapped = wrap_for_shadow(dataclasses.replace(settings, shadow_rules_path=str(candidate_rules)), scorer)  # type: ignore[arg-type]
    assert isinstance(wrapped, ShadowScorer)
    assert wrapped.name.startswith("rules=2025.4-candidate+") and ";model=" in wrapped.name
    # Callers that read the scorer's versions see the active ones.
    assert wrapped.rules_version == scorer.rules_version  # type: ignore[attr-defined]
