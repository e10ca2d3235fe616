"""Shadow reports on a known set of shadow rows and labels, and the `vigie shadow report` CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from moderation.clock import utcnow
from moderation.shadow import ShadowRow, list_candidates, record_shadow_results, shadow_report
from moderation.shadow_models import ShadowAssessment
from moderation.submissions import SubmissionContent, submit
from scoring.types import Category, Kind, ScoreResult, Verdict

# (active verdict, active categories, candidate verdict, candidate categories, label)
KNOWN = [
    ("allow", (), "allow", (), "not_scam"),
    ("allow", (), "warn", ("off_platform",), "scam"),  # extra flag, right
    ("allow", (), "review", ("advance_fee",), "not_scam"),  # extra flag, wrong
    ("hold", ("external_payment",), "hold", ("external_payment", "off_platform"), "scam"),
    ("warn", ("off_platform",), "allow", (), None),  # missed flag, unlabelled
    ("review", ("advance_fee",), "hold", ("advance_fee",), None),
]


def _result(sid: str, verdict: str, categories: tuple[str, ...], rules: str) -> ScoreResult:
    score = {"allow": 0.1, "warn": 0.55, "review": 0.7, "hold": 0.95}[verdict]
    return ScoreResult(sid, score, Verdict(verdict), tuple(Category(c) for c in categories), (), "m-1", rules)


@pytest.fixture
def known_rows(
    session_factory: sessionmaker[Session], give_label: Callable[[str, int, str], None]
) -> list[str]:
    ids = []
    with session_factory() as session:
        for n in range(len(KNOWN)):
            outcome = submit(
                session,
                SubmissionContent(kind=Kind.MESSAGE, external_id=f"m-{n}", text=f"message {n}", lang="fr"),
                actor="key:test",
            )
            ids.append(outcome.submission_id)
        rows = [
            ShadowRow(sid, 1, "cand-A", _result(sid, av, ac, "r-active"), _result(sid, cv, cc, "r-cand"))
            for sid, (av, ac, cv, cc, _label) in zip(ids, KNOWN, strict=True)
        ]
        assert record_shadow_results(session, rows) == 6
        assert record_shadow_results(session, rows[:2]) == 0  # idempotent
        session.commit()
    for sid, (*_rest, label) in zip(ids, KNOWN, strict=True):
        if label is not None:
            give_label(sid, 1, label)
    return ids


def test_report_figures_on_a_known_set(session_factory: sessionmaker[Session], known_rows: list[str]) -> None:
    with session_factory() as session:
        report = shadow_report(session)  # the only candidate is the default
    c = report.comparison
    assert report.candidate == "cand-A" and report.rules_versions == ["r-cand"]
    assert (c.total, c.agree, c.extra_flags, c.missed_flags) == (6, 2, 2, 1)
    assert c.agreement_rate == pytest.approx(2 / 6)
    assert c.transitions == {
        ("allow", "allow"): 1,
        ("allow", "warn"): 1,
        ("allow", "review"): 1,
        ("hold", "hold"): 1,
        ("warn", "allow"): 1,
        ("review", "hold"): 1,
    }
    assert c.matrix()[0] == [1, 1, 1, 0]  # allow row: allow, warn, review, hold
    off = c.categories["off_platform"]
    assert (off.active, off.candidate, off.gained, off.lost, off.verdict_changed) == (1, 2, 2, 1, 2)
    fee = c.categories["advance_fee"]
    assert (fee.active, fee.candidate, fee.gained, fee.lost, fee.verdict_changed) == (1, 2, 1, 0, 2)
    # 4 labelled: 2 scams, 2 honest. Active flags 1 scam; candidate flags both scams and one honest.
    assert c.labelled == 4
    a, k = c.active_vs_labels, c.candidate_vs_labels
    assert (a.tp, a.fp, a.fn, a.tn, a.precision, a.recall) == (1, 0, 1, 2, 1.0, 0.5)
    assert (k.tp, k.fp, k.fn, k.tn, k.recall, k.false_positive_rate) == (2, 1, 0, 1, 1.0, 0.5)
    assert k.precision == pytest.approx(2 / 3)


def test_since_and_candidate_filters(session_factory: sessionmaker[Session], known_rows: list[str]) -> None:
    with session_factory() as session:
        session.execute(
            update(ShadowAssessment)
            .where(ShadowAssessment.submission_id.in_(known_rows[:4]))
            .values(created_at=utcnow() - timedelta(days=10))
        )
        session.commit()
        recent = shadow_report(session, "cand-A", since=utcnow() - timedelta(days=1))
        assert recent.comparison.total == 2 and recent.comparison.missed_flags == 1
        assert shadow_report(session, "nobody").comparison.total == 0
        assert [c.name for c in list_candidates(session)] == ["cand-A"]


def test_cli_shadow_report_text_and_json(db_url: str, known_rows: list[str]) -> None:
    runner = CliRunner()
    env = {"VIGIE_DATABASE_URL": db_url}
    text = runner.invoke(main, ["shadow", "report"], env=env)
    assert text.exit_code == 0, text.output
    assert "candidate: cand-A" in text.output
    assert "compared: 6, same verdict: 2 (agreement 33.3%), changed: 4" in text.output
    assert (
        "extra flags (candidate flags, active allows): 2; missed flags (active flags, candidate allows): 1"
        in (text.output)
    )
    assert "labelled items: 4" in text.output
    as_json = runner.invoke(
        main, ["shadow", "report", "--json", "--since", "7d", "--candidate", "cand-A"], env=env
    )
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.output)
    assert (doc["candidate"], doc["total"], doc["extra_flags"], doc["missed_flags"]) == ("cand-A", 6, 2, 1)
    assert doc["candidate_vs_labels"]["recall"] == 1.0 and doc["candidates"][0]["rows"] == 6


def test_cli_shadow_report_bad_input(db_url: str, known_rows: list[str]) -> None:
    runner = CliRunner()
    env = {"VIGIE_DATABASE_URL": db_url}
    unknown = runner.invoke(main, ["shadow", "report", "--candidate", "nope"], env=env)
    assert unknown.exit_code == 2 and "--candidate" in unknown.output and "cand-A" in unknown.output
    bad_date = runner.invoke(main, ["shadow", "report", "--since", "last tuesday"], env=env)
    assert bad_date.exit_code == 2 and "--since" in bad_date.output


def test_cli_shadow_report_without_rows(db_url: str) -> None:
    result = CliRunner().invoke(main, ["shadow", "report"], env={"VIGIE_DATABASE_URL": db_url})
    assert result.exit_code == 0 and "no shadow assessments recorded" in result.output
