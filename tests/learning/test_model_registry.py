"""Model registry: the gate, promotion and rollback with audit events, stale comparisons, stored
bytes checked against their version, workers loading the active model, and the labels export
(latest non-retracted label, purged text skipped, confirmed reports marked). Real databases."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from moderation import labels as label_export
from moderation import model_registry, user_side_listeners
from moderation.assessments import record_assessment
from moderation.clock import utcnow
from moderation.decisions import decide, undo
from moderation.model_registry_models import ModelVersion
from moderation.models import AuditEvent, SubmissionRevision
from moderation.moderators import create_moderator
from moderation.reports import ReportRequest, file_report
from moderation.review_models import Moderator, ReviewItem
from moderation.settings import Settings
from moderation.submissions import SubmissionContent, submit
from scoring.label_training import MAX_PRECISION_TOLERANCE, MAX_RECALL_DROP, promotion_gate
from scoring.model import content_version, expected_versions, serialize_params
from scoring.training import Example, TrainConfig, fit_linear
from scoring.types import Kind
from tests.review.conftest import result_for
from workers.context import load_scorer

_ids = itertools.count(1)


def figures(precision: float | None, recall: float | None) -> dict[str, Any]:
    return {"threshold": 0.5, "all": {"n": 100, "precision": precision, "recall": recall}}


@pytest.mark.parametrize(
    ("candidate", "active", "tolerance", "passed"),
    [
        (figures(0.95, 0.80), figures(0.90, 0.80), 0.0, True),
        (figures(0.90, 0.80), figures(0.90, 0.80), 0.0, True),  # equal precision is "not worse"
        (figures(0.8998, 0.95), figures(0.90, 0.80), 0.0, False),  # strict by default: any drop refuses
        (figures(0.896, 0.80), figures(0.90, 0.80), 0.005, True),  # within an operator's tolerance
        (figures(0.89, 0.95), figures(0.90, 0.80), 0.005, False),  # beyond it
        (figures(1.00, 0.80 - MAX_RECALL_DROP - 0.01), figures(0.90, 0.80), 0.0, False),  # recall collapsed
        (figures(None, 0.0), figures(0.90, 0.80), 0.0, False),  # flags nothing
        (figures(0.50, 0.10), None, 0.0, True),  # no active model: only "flags something"
        (figures(0.80, 0.80), figures(None, 0.0), 0.0, True),  # an active model flagging nothing sets no bar
    ],
)
def test_promotion_gate(
    candidate: dict[str, Any], active: dict[str, Any] | None, tolerance: float, passed: bool
) -> None:
    gate = promotion_gate(candidate, active, tolerance)
    assert gate.passed is passed
    assert gate.to_dict()["precision_tolerance"] == tolerance


def test_promotion_gate_is_strict_by_default_and_refuses_an_unusable_tolerance() -> None:
    gate = promotion_gate(figures(0.8998, 0.95), figures(0.90, 0.80))
    assert not gate.passed and gate.reasons == ("precision 0.8998 below active 0.9000",)
    for bad in (-0.01, MAX_PRECISION_TOLERANCE + 0.01):
        with pytest.raises(ValueError, match="precision tolerance must be in"):
            promotion_gate(figures(0.95, 0.80), figures(0.90, 0.80), bad)


def tiny_model(seed_word: str) -> tuple[bytes, dict[str, Any]]:
    """A real (tiny) TextModel artifact; `seed_word` makes each one's bytes, hence version, distinct."""
    examples = [Example(f"paypal amis {seed_word} {i}", 1, "t") for i in range(4)] + [
        Example(f"bonjour dispo samedi {i}", 0, "t") for i in range(4)
    ]
    params, report = fit_linear("text", examples, TrainConfig(n_bits=10, folds=2))
    blob = serialize_params(params)
    meta = {
        **expected_versions("text"),
        "version": content_version("text", blob),
        "threshold": params.threshold,
        "training": report.to_dict(),
    }
    return blob, meta


def register(
    session: Session, seed_word: str, candidate: dict[str, Any], active_version: str | None, now: datetime
) -> ModelVersion:
    blob, meta = tiny_model(seed_word)
    evaluation = model_registry.Evaluation(
        candidate=candidate,
        active=figures(0.90, 0.80),
        active_version=active_version or "text-shipped",
        active_source="registry" if active_version else model_registry.SHIPPED,
    )
    return model_registry.register_candidate(
        session,
        kind="text",
        artifact=blob,
        metadata=meta,
        evaluation=evaluation,
        trained_on={"fixtures": 8},
        actor="test",
        now=now,
    )


def actions(session: Session) -> list[tuple[str, str]]:
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.subject_type == "model").order_by(AuditEvent.id)
    )
    return [(e.action, e.actor) for e in rows]


def test_promote_rollback_and_audit(session_factory: sessionmaker[Session]) -> None:
    now = utcnow()
    with session_factory() as session:
        a = register(session, "alpha", figures(0.95, 0.80), None, now)
        session.commit()
        model_registry.promote(session, a.version, "alice", now)
        session.commit()
        b = register(session, "beta", figures(0.97, 0.82), a.version, now + timedelta(seconds=1))
        model_registry.promote(session, b.version, "bob", now)
        session.commit()
        assert {r.version: r.status for r in model_registry.list_versions(session)} == {
            a.version: "retired",
            b.version: "active",
        }
        assert b.previous_active == a.version
        # Re-registering the same bytes is idempotent.
        assert register(session, "beta", figures(0.97, 0.82), a.version, now).version == b.version

        assert model_registry.rollback(session, "text", "carol", now, "bad night") == a.version
        session.commit()
        assert model_registry.active_version(session, "text").version == a.version  # type: ignore[union-attr]
        assert model_registry.rollback(session, "text", "carol", now) is None  # back to shipped
        session.commit()
        assert model_registry.active_version(session, "text") is None
        with pytest.raises(model_registry.NothingToRollBack):
            model_registry.rollback(session, "text", "carol", now)
        assert actions(session) == [
            ("model.registered", "test"),
            ("model.promoted", "alice"),
            ("model.registered", "test"),
            ("model.promoted", "bob"),
            ("model.rolled_back", "carol"),
            ("model.rolled_back", "carol"),
        ]


def test_gate_refusal_marks_rejected_and_force_needs_a_reason(session_factory: sessionmaker[Session]) -> None:
    now = utcnow()
    with session_factory() as session:
        worse = register(session, "worse", figures(0.70, 0.90), None, now)
        with pytest.raises(model_registry.PromotionRefused) as refused:
            model_registry.promote(session, worse.version, "alice", now)
        session.commit()
        assert refused.value.reasons[0] == "precision 0.7000 below active 0.9000"
        assert worse.status == "rejected"
        with pytest.raises(model_registry.PromotionRefused, match="needs a reason"):
            model_registry.promote(session, worse.version, "alice", now, force=True)
        model_registry.promote(session, worse.version, "alice", now, force=True, reason="incident 42")
        session.commit()
        assert worse.status == "active"
        promoted = session.scalars(select(AuditEvent).where(AuditEvent.action == "model.promoted")).one()
        assert promoted.data["forced"] is True and promoted.data["reason"] == "incident 42"


def test_the_precision_tolerance_is_the_one_given_at_promotion(
    session_factory: sessionmaker[Session],
) -> None:
    now = utcnow()
    with session_factory() as session:
        # 0.3 points below the active model: refused by the strict default, stored as such.
        close = register(session, "close", figures(0.897, 0.80), None, now)
        assert close.metrics["gate"] == {
            "passed": False,
            "reasons": ["precision 0.8970 below active 0.9000"],
            "precision_tolerance": 0.0,
        }
        # An operator who allows half a point (VIGIE_PROMOTE_PRECISION_TOLERANCE=0.005) promotes it.
        model_registry.promote(session, close.version, "alice", now, precision_tolerance=0.005)
        session.commit()
        assert close.status == "active"
        promoted = session.scalars(select(AuditEvent).where(AuditEvent.action == "model.promoted")).one()
        assert promoted.data["precision_tolerance"] == 0.005 and promoted.data["forced"] is False


def test_a_comparison_with_a_model_no_longer_active_is_stale(session_factory: sessionmaker[Session]) -> None:
    now = utcnow()
    with session_factory() as session:
        a = register(session, "alpha", figures(0.95, 0.80), None, now)
        b = register(session, "beta", figures(0.99, 0.90), None, now)  # also evaluated against shipped
        model_registry.promote(session, a.version, "alice", now)
        with pytest.raises(model_registry.PromotionRefused, match="evaluated against the shipped model"):
            model_registry.promote(session, b.version, "alice", now)
        assert b.status == "candidate"  # stale is not rejected: retraining may well pass


def test_one_active_model_per_kind_is_enforced_by_the_database(
    session_factory: sessionmaker[Session],
) -> None:
    now = utcnow()
    with session_factory() as session:
        a = register(session, "alpha", figures(0.95, 0.80), None, now)
        b = register(session, "beta", figures(0.95, 0.80), None, now)
        session.commit()
        with pytest.raises(IntegrityError):
            session.execute(update(ModelVersion).values(status="active"))
            session.commit()
        session.rollback()
        assert {a.version, b.version} == {r.version for r in model_registry.list_versions(session)}


def test_workers_load_the_active_model_and_refuse_tampered_bytes(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    assert load_scorer(settings).model_version.startswith("text:text-")  # shipped: no registry rows
    now = utcnow()
    with session_factory() as session:
        a = register(session, "alpha", figures(0.95, 0.80), None, now)
        model_registry.promote(session, a.version, "alice", now)
        session.commit()
    scorer = load_scorer(settings)
    assert f"text:{a.version}" in scorer.model_version
    assert (settings.data_dir / "models" / f"{a.version}.skops").exists()
    with session_factory() as session:
        blob = bytearray(a.artifact)
        blob[-30] ^= 0xFF
        session.execute(
            update(ModelVersion).where(ModelVersion.version == a.version).values(artifact=bytes(blob))
        )
        session.commit()
    # Tampered (or corrupted) bytes: the worker still starts, on the shipped model.
    assert a.version not in load_scorer(settings).model_version
    with session_factory() as session, pytest.raises(model_registry.ArtifactIntegrityError):
        model_registry.active_artifact(session, "text")


def test_workers_start_on_a_database_without_the_registry(tmp_path: Any, redis_url: str) -> None:
    bare = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}", redis_url=redis_url
    )
    assert load_scorer(bare).model_version.startswith("text:")


# --- labels export ----------------------------------------------------------------------------------


def moderator(session_factory: sessionmaker[Session]) -> Moderator:
    with session_factory() as session:
        mod, _key = create_moderator(session, f"mod{next(_ids)}@example.org", "Modo", "correct horse battery")
        session.commit()
    return mod


def labelled(
    session_factory: sessionmaker[Session],
    mod: Moderator,
    text: str,
    decision: str,
    conversation_id: str,
    reported: bool = False,
) -> tuple[str, int]:
    """Store a message, score it `review`, optionally report it, and decide it; (submission, decision id)."""
    now = utcnow()
    external_id = f"lab-{next(_ids)}"
    with session_factory() as session:
        outcome = submit(
            session,
            SubmissionContent(
                kind=Kind.MESSAGE,
                external_id=external_id,
                text=text,
                conversation_id=conversation_id,
                sender={"id": "s-1"},
                recipient={"id": "r-1"},
                lang="fr",
            ),
            actor="key:test",
        )
        record_assessment(
            session, outcome.submission_id, outcome.revision, result_for(outcome.submission_id), 1.0
        )
        session.commit()
        if reported:
            request = ReportRequest(
                reporter_id="buyer-7", kind="message", external_id=external_id, reason="scam"
            )
            file_report(session, request, "key:test", now)
            session.commit()
        item_id = session.scalars(
            select(ReviewItem.id).where(ReviewItem.submission_id == outcome.submission_id)
        ).one()
        reason = "external_payment" if decision == "confirm_scam" else "legitimate"
        row = decide(session, item_id, mod, decision, reason, now)
        session.commit()
        return outcome.submission_id, row.id


def test_labels_export_latest_non_retracted_with_text_and_sources(
    session_factory: sessionmaker[Session],
) -> None:
    user_side_listeners.install()  # reports are settled by the decision listener, as in the app
    mod = moderator(session_factory)
    scam, _ = labelled(session_factory, mod, "Payez par PayPal entre amis", "confirm_scam", "c-1")
    reported, _ = labelled(
        session_factory, mod, "Réglez en points de fidélité", "confirm_scam", "c-2", reported=True
    )
    honest, _ = labelled(session_factory, mod, "Je passe samedi, espèces", "not_scam", "c-3")
    _undone, decision_id = labelled(session_factory, mod, "Envoyez le code SMS", "confirm_scam", "c-4")
    purged, _ = labelled(session_factory, mod, "Virement Western Union", "confirm_scam", "c-5")
    with session_factory() as session:
        undo(session, decision_id, mod, utcnow(), timedelta(minutes=5))
        session.execute(
            update(SubmissionRevision).where(SubmissionRevision.submission_id == purged).values(text="")
        )
        session.commit()
        exported = label_export.export_labels(session)
    by_id = {item.submission_id: item for item in exported}
    assert set(by_id) == {scam, reported, honest}
    assert by_id[scam].label == "scam" and by_id[scam].source == label_export.MODERATOR
    assert by_id[reported].source == label_export.REPORT_CONFIRMED
    assert by_id[honest].label == "not_scam" and by_id[honest].text == "Je passe samedi, espèces"
    assert by_id[honest].moderator_id == mod.id and by_id[honest].group == "c-3"
    summary = label_export.label_summary(exported)
    assert summary["labels"] == 3
    assert summary["by_source"] == {"moderator:not_scam": 1, "moderator:scam": 1, "report_confirmed:scam": 1}


@pytest.mark.parametrize("command", [["model", "promote", "text-0123456789ab"], ["model", "train"]])
def test_an_unusable_tolerance_is_refused_before_any_work(settings: Settings, command: list[str]) -> None:
    from click.testing import CliRunner

    from api.cli import main as cli

    env = {
        "VIGIE_DATABASE_URL": settings.effective_database_url,
        "VIGIE_REDIS_URL": settings.redis_url,
        "VIGIE_DATA_DIR": str(settings.data_dir),
        "VIGIE_PROMOTE_PRECISION_TOLERANCE": "0.5",
    }
    result = CliRunner().invoke(cli, command, env=env)
    assert result.exit_code == 2, result.output
    assert (
        "VIGIE_PROMOTE_PRECISION_TOLERANCE: precision tolerance must be in [0, 0.05], got 0.5"
        in result.output
    )
