"""Backtests on seeded, scored and labelled submissions: a rule change gives exactly the expected
verdict transitions, label metrics, drift, skips and masked examples."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from moderation.assessments import record_assessment
from moderation.backtest import BacktestOptions, count_revisions, run_backtest
from moderation.clock import utcnow
from moderation.models import Assessment, SubmissionRevision
from moderation.retention import purge_older_than
from moderation.submissions import SubmissionContent, submit, to_score_input
from scoring.engine import Scorer
from scoring.types import Kind
from tests.learning.conftest import CANDIDATE_PHRASE

# (external id, kind, text, label); the texts' verdicts under the shipped pack are checked below.
SEED = [
    (
        "m-phrase-scam",
        "message",
        f"Pour le {CANDIDATE_PHRASE}, appelez le 06 11 22 33 44 avant lundi.",
        "scam",
    ),
    (
        "m-phrase-honest",
        "message",
        f"Je cherche un {CANDIDATE_PHRASE} pour ma fille, vous l'avez encore ?",
        "not_scam",
    ),
    ("m-benign", "message", "Bonjour, le vélo est-il toujours disponible ? Je passe samedi.", "not_scam"),
    (
        "m-scam",
        "message",
        "Je vous paie par PayPal entre amis, écrivez-moi sur WhatsApp au 06 12 34 56 78.",
        "scam",
    ),
    ("m-unlabelled", "message", "Bonjour, la table est encore là ?", None),
    ("l-phrase", "listing", f"Vends {CANDIDATE_PHRASE} neuf, remise en main propre à Lyon.", None),
]


@pytest.fixture
def active(scorer: Scorer) -> Scorer:
    return scorer


@pytest.fixture
def candidate(candidate_rules: Path) -> Scorer:
    return Scorer.load(rules_path=str(candidate_rules))


@pytest.fixture
def seeded(
    session_factory: sessionmaker[Session], active: Scorer, give_label: Callable[[str, int, str], None]
) -> dict[str, str]:
    """Store SEED, record the active scorer's assessments, label what SEED labels; external -> id."""
    ids: dict[str, str] = {}
    with session_factory() as session:
        for external_id, kind, text, _label in SEED:
            outcome = submit(
                session,
                SubmissionContent(
                    kind=Kind(kind),
                    external_id=external_id,
                    text=text,
                    conversation_id=f"c-{external_id}" if kind == "message" else None,
                    sender={
                        "id": f"u-{external_id}",
                        "account_age_days": 400,
                        "email": "vendeur.lyon@example.org",
                    },
                    recipient={"id": "buyer"} if kind == "message" else None,
                    lang="fr",
                ),
                actor="key:test",
            )
            ids[external_id] = outcome.submission_id
            revision = session.get(SubmissionRevision, _revision_pk(session, outcome.submission_id))
            assert revision is not None
            record_assessment(session, outcome.submission_id, 1, active.score(to_score_input(revision)), 1.0)
        session.commit()
    for external_id, _kind, _text, label in SEED:
        if label is not None:
            give_label(ids[external_id], 1, label)
    return ids


def _revision_pk(session: Session, submission_id: str) -> int:
    return session.scalars(
        select(SubmissionRevision.id).where(SubmissionRevision.submission_id == submission_id)
    ).one()


def test_rule_change_gives_the_expected_transitions(
    session_factory: sessionmaker[Session], active: Scorer, candidate: Scorer, seeded: dict[str, str]
) -> None:
    progress: list[int] = []
    report = run_backtest(
        session_factory, active, candidate, BacktestOptions(batch_size=4), on_batch=progress.append
    )
    # Two pages of at most 4 revisions, all six looked at and rescored.
    assert progress == [4, 2] and report.scanned == report.scored == 6
    c = report.comparison
    # The three texts with the phrase go from allow to hold; the others keep their verdict.
    assert c.transitions == {("allow", "hold"): 3, ("allow", "allow"): 2, ("hold", "hold"): 1}
    assert (c.total, c.agree, c.changed, c.extra_flags, c.missed_flags) == (6, 3, 3, 3, 0)
    assert c.agreement_rate == pytest.approx(0.5)
    advance_fee = c.categories["advance_fee"]
    assert (advance_fee.active, advance_fee.candidate, advance_fee.gained, advance_fee.lost) == (0, 3, 3, 0)
    assert advance_fee.verdict_changed == 3
    assert c.categories["external_payment"].verdict_changed == 0
    # Labels: 4 labelled. Active flags only the PayPal scam; the candidate also flags both phrase texts.
    assert c.labelled == 4
    assert c.active_vs_labels.to_dict() == {
        "tp": 1, "fp": 0, "fn": 1, "tn": 2, "precision": 1.0, "recall": 0.5, "false_positive_rate": 0.0,
    }  # fmt: skip
    assert (c.candidate_vs_labels.tp, c.candidate_vs_labels.fp, c.candidate_vs_labels.fn) == (2, 1, 0)
    assert c.candidate_vs_labels.recall == 1.0 and c.candidate_vs_labels.false_positive_rate == 0.5
    # Stored verdicts came from the same active scorer: no drift.
    assert report.drift.total == 6 and report.drift.changed == 0 and report.unassessed == 0
    assert report.candidate_versions[0].startswith("2025.4-candidate+")
    # Examples: the changed items, with personal data masked.
    assert {e.external_id for e in report.examples} == {"m-phrase-scam", "m-phrase-honest", "l-phrase"}
    example = next(e for e in report.examples if e.external_id == "m-phrase-scam")
    assert "06 11 22 33 44" not in example.excerpt and "[phone]" in example.excerpt
    assert (example.active_verdict, example.candidate_verdict, example.label) == ("allow", "hold", "scam")


def test_stored_drift_is_reported_apart(
    session_factory: sessionmaker[Session], active: Scorer, candidate: Scorer, seeded: dict[str, str]
) -> None:
    # An older version had held the benign message: drift shows it, the candidate comparison does not.
    with session_factory() as session:
        session.execute(
            update(Assessment)
            .where(Assessment.submission_id == seeded["m-benign"])
            .values(verdict="hold", rules_version="2024.9+old")
        )
        session.commit()
    report = run_backtest(session_factory, active, candidate)
    assert report.drift.transitions[("hold", "allow")] == 1 and report.drift.changed == 1
    assert report.comparison.transitions[("allow", "allow")] == 2
    assert sum(report.stored_versions.values()) == 6 and any(
        v.startswith("2024.9+old") for v in report.stored_versions
    )


def test_kind_since_and_purged_revisions(
    session_factory: sessionmaker[Session], active: Scorer, candidate: Scorer, seeded: dict[str, str]
) -> None:
    listings = run_backtest(session_factory, active, candidate, BacktestOptions(kind="listing"))
    assert listings.scanned == 1 and listings.comparison.transitions == {("allow", "hold"): 1}
    with session_factory() as session:
        assert count_revisions(session, BacktestOptions(kind="message")) == 5
        assert count_revisions(session, BacktestOptions(since=utcnow() + timedelta(days=1))) == 0
        # Retention erases the text of everything older than "now + 1 s": all six become purged.
        session.execute(update(SubmissionRevision).values(created_at=utcnow() - timedelta(days=40)))
        session.commit()
        purge_older_than(session, timedelta(days=30))
    report = run_backtest(session_factory, active, candidate)
    assert (report.scanned, report.scored, report.skipped_purged) == (6, 0, 6)
    assert report.comparison.total == 0 and report.examples == []


def test_listing_backtests_its_latest_revision(
    session_factory: sessionmaker[Session], active: Scorer, candidate: Scorer, seeded: dict[str, str]
) -> None:
    # The listing is edited: its second revision drops the phrase, so nothing changes for it any more.
    with session_factory() as session:
        outcome = submit(
            session,
            SubmissionContent(
                kind=Kind.LISTING,
                external_id="l-phrase",
                text="Vends parapluie neuf, remise en main propre à Lyon.",
                sender={"id": "u-l-phrase", "account_age_days": 400},
                lang="fr",
            ),
            actor="key:test",
        )
        session.commit()
    assert outcome.revision == 2
    report = run_backtest(session_factory, active, candidate, BacktestOptions(kind="listing"))
    assert report.comparison.transitions == {("allow", "allow"): 1}
    assert report.unassessed == 1  # revision 2 was never scored in production


def test_cli_backtest_tables_and_json(db_url: str, candidate_rules: Path, seeded: dict[str, str]) -> None:
    runner = CliRunner()
    env = {"VIGIE_DATABASE_URL": db_url}
    text = runner.invoke(main, ["backtest", "--rules", str(candidate_rules), "--batch-size", "2"], env=env)
    assert text.exit_code == 0, text.output
    out = text.output
    assert "rescoring" in out  # the progress bar (stderr; CliRunner mixes both streams)
    assert "revisions: 6 scanned, 6 rescored, 0 skipped (purged), 0 skipped (no text)" in out
    assert "compared: 6, same verdict: 3 (agreement 50.0%), changed: 3" in out
    assert "allow          2       0       0       3" in out  # the allow row of the transition matrix
    assert "labelled items: 4" in out and "examples of changed items (3 shown" in out
    assert "[phone]" in out and "06 11 22 33 44" not in out
    as_json = runner.invoke(
        main, ["backtest", "--rules", str(candidate_rules), "--kind", "message", "--json"], env=env
    )
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.output[as_json.output.index("{") :])
    assert doc["scored"] == 5 and doc["comparison"]["changed"] == 2 and doc["kind"] == "message"
    assert doc["comparison"]["candidate_vs_labels"]["recall"] == 1.0


def test_cli_backtest_bad_input(db_url: str, tmp_path: Path, candidate_rules: Path) -> None:
    runner = CliRunner()
    env = {"VIGIE_DATABASE_URL": db_url}
    missing = runner.invoke(main, ["backtest"], env=env)
    assert missing.exit_code == 2 and "--rules" in missing.output
    bad = tmp_path / "bad.toml"
    bad.write_text(candidate_rules.read_text().replace("warn = 0.50", "warn = 2", 1), encoding="utf-8")
    broken = runner.invoke(main, ["backtest", "--rules", str(bad)], env=env)
    assert broken.exit_code == 1 and "cannot load the candidate" in broken.output
    assert "thresholds.message.warn" in broken.output  # the rule pack error names the bad key
    kind = runner.invoke(main, ["backtest", "--rules", str(bad), "--kind", "email"], env=env)
    assert kind.exit_code == 2 and "--kind" in kind.output
