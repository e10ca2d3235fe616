"""Done when: editing a phrase list changes the verdicts of a RUNNING worker within seconds, with no
restart, and the new rules_version is stored on the assessment; the API's ?mode=sync follows too."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rq import Worker
from sqlalchemy.orm import Session, sessionmaker

from moderation.settings import Settings
from moderation.submissions import SubmitOutcome, get_submission
from scoring.types import Kind
from tests.api.conftest import bearer, message_body
from tests.learning.test_rules_reload import TERM, TEXT, add_term, rule_files  # noqa: F401 - fixture
from workers.context import WorkerContext
from workers.queues import enqueue_score

REPO_ROOT = Path(__file__).resolve().parents[2]
# The worker and the API check the files this often; a verdict must follow an edit well within it.
CHECK_S = 0.2
DEADLINE_S = 15.0  # generous: the test machine is shared and loaded


def worker_env(settings: Settings, rules: Path, brands: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(
        VIGIE_DATABASE_URL=settings.database_url,
        VIGIE_REDIS_URL=settings.redis_url,
        VIGIE_DATA_DIR=str(settings.data_dir),
        VIGIE_SWEEPER_INTERVAL_S="3600",
        VIGIE_LOG_LEVEL="INFO",
        VIGIE_RULES_PATH=str(rules),
        VIGIE_BRANDS_PATH=str(brands),
        VIGIE_RULES_CHECK_S=str(CHECK_S),
    )
    return env


def wait_for_assessment(
    session_factory: sessionmaker[Session], submission_id: str, proc: subprocess.Popen[bytes], log: Path
) -> dict[str, Any]:
    deadline = time.monotonic() + 60  # the first job also pays the worker's start (model load)
    while True:
        with session_factory() as session:
            view = get_submission(session, Kind.MESSAGE, submission_id)
            if view is not None and view.assessment is not None:
                return view.to_dict()["assessment"]  # type: ignore[no-any-return]
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no assessment for {submission_id}:\n{log.read_text()}"
        time.sleep(0.05)


def worker_names(ctx: WorkerContext) -> list[str]:
    return sorted(w.name for w in Worker.all(connection=ctx.redis))


@pytest.mark.slow
def test_phrase_list_edit_changes_a_running_workers_verdicts(
    worker_ctx: WorkerContext,
    settings: Settings,
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
    rule_files: tuple[Path, Path],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    rules, brands = rule_files
    log = tmp_path / "worker.log"

    def score(external_id: str) -> dict[str, Any]:
        outcome = submit_message(text=TEXT, external_id=external_id)
        assert enqueue_score(worker_ctx.score_queue, outcome.submission_id, outcome.revision)
        return wait_for_assessment(session_factory, outcome.submission_id, proc, log)

    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workers"],
            cwd=REPO_ROOT,
            env=worker_env(settings, rules, brands),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            before = score("before-edit")
            assert before["verdict"] == "allow"
            names = worker_names(worker_ctx)
            assert names == [n for n in names if n.endswith(f"-{proc.pid}")] and len(names) == 1

            add_term(rules)
            edited_at = time.monotonic()
            # Submit the same text again (a new message each time) until a verdict changes.
            attempt = 0
            while True:
                attempt += 1
                after = score(f"after-edit-{attempt}")
                if after["verdict"] != "allow":
                    break
                assert after["rules_version"] == before["rules_version"]
                assert time.monotonic() - edited_at < DEADLINE_S, log.read_text()
                time.sleep(CHECK_S / 2)
            took = time.monotonic() - edited_at

            assert after["rules_version"] != before["rules_version"]
            assert TERM.rstrip("*") in {r["evidence"] for r in after["reasons"]}
            assert took < DEADLINE_S
            # No restart: the same process, still the only worker, served both verdicts.
            assert proc.poll() is None, log.read_text()
            assert worker_names(worker_ctx) == names
            text = log.read_text()
            assert f"rules_version {before['rules_version']} -> {after['rules_version']}" in text
            print(f"verdict changed {took:.2f} s after the edit ({attempt} submission(s))")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_sync_mode_scores_with_the_edited_pack(
    make_app: Callable[..., Any],
    rule_files: tuple[Path, Path],  # noqa: F811 - the fixture imported above
) -> None:
    rules, brands = rule_files
    app = make_app(
        rules_path=str(rules), brands_path=str(brands), rules_check_s=CHECK_S, sync_budget_ms=30_000
    )
    svc = app.extensions["vigie"]
    client = app.test_client()
    with app.app_context():
        from moderation.keys import create_key

        with svc.session_factory() as session:
            _, key = create_key(session, "svc", {"submit", "read"})
            session.commit()
    headers = bearer(key)

    first = client.post("/v1/messages?mode=sync", json=message_body("sync-1", TEXT), headers=headers)
    assert first.status_code == 200, first.get_json()
    before = first.get_json()["assessment"]
    assert before["verdict"] == "allow"
    assert svc.scorer.get().rules_version == before["rules_version"]

    add_term(rules)
    deadline = time.monotonic() + DEADLINE_S
    while svc.scorer.get().rules_version == before["rules_version"]:
        assert time.monotonic() < deadline, "the API's scorer did not reload the edited pack"
        time.sleep(0.05)

    second = client.post("/v1/messages?mode=sync", json=message_body("sync-2", TEXT), headers=headers)
    assert second.status_code == 200, second.get_json()
    after = second.get_json()["assessment"]
    assert after["verdict"] != "allow"
    assert after["rules_version"] == svc.scorer.get().rules_version != before["rules_version"]
    stored = client.get(second.headers["Location"], headers=headers).get_json()["assessment"]
    assert stored["rules_version"] == after["rules_version"]
    # /metrics says which versions this process serves now.
    metrics = client.get("/metrics").get_data(as_text=True)
    model = after["model_version"]
    assert (
        f'vigie_scorer_info{{model_version="{model}",rules_version="{after["rules_version"]}"}} 1.0'
        in metrics
    )
    assert (
        f'vigie_scorer_info{{model_version="{model}",rules_version="{before["rules_version"]}"}} 0.0'
        in metrics
    )
