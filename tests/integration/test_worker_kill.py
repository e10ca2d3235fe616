"""A worker process SIGKILLed mid-job: the sweeper re-enqueues, a new worker records one assessment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy.orm import Session, sessionmaker

from moderation.clock import utcnow
from moderation.settings import Settings
from moderation.submissions import SubmitOutcome, get_revision
from tests.integration.conftest import assessment_count
from workers.context import WorkerContext
from workers.queues import JOB_TIMEOUT_S, enqueue_score, score_job_id
from workers.sweeper import STARTED_GRACE, sweep_once

REPO_ROOT = Path(__file__).resolve().parents[2]


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(
        VIGIE_DATABASE_URL=settings.database_url,
        VIGIE_REDIS_URL=settings.redis_url,
        VIGIE_DATA_DIR=str(settings.data_dir),
        VIGIE_SWEEPER_INTERVAL_S="3600",  # this test drives the sweeper itself
        VIGIE_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


@pytest.mark.slow
def test_sigkilled_worker_job_is_recovered_once(
    worker_ctx: WorkerContext,
    settings: Settings,
    run_burst: Callable[[], bool],
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    outcome = submit_message()
    assert enqueue_score(worker_ctx.score_queue, outcome.submission_id, 1)
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workers"],
            cwd=REPO_ROOT,
            env=worker_env(settings, VIGIE_DEBUG_JOB_DELAY_S="60"),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            job_id = score_job_id(outcome.submission_id, 1)
            deadline = time.monotonic() + 60
            while True:
                job = Job.fetch(job_id, connection=worker_ctx.redis, serializer=JSONSerializer)
                if job.get_status() == JobStatus.STARTED:
                    break
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "the worker never started the job"
                time.sleep(0.1)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert assessment_count(session_factory, outcome.submission_id) == 0

    # While the job could still be running (within its timeout), the sweeper does not duplicate it.
    soon = utcnow() + timedelta(seconds=settings.sweeper_stale_after_s + 1)
    assert sweep_once(session_factory, worker_ctx.score_queue, settings, now=soon) == 0
    # Past timeout + grace the job is known dead: it is re-enqueued and a fresh worker scores it.
    dead = (
        utcnow() + timedelta(seconds=max(settings.sweeper_stale_after_s, JOB_TIMEOUT_S) + 1) + STARTED_GRACE
    )
    assert sweep_once(session_factory, worker_ctx.score_queue, settings, now=dead) == 1
    fresh = subprocess.run(
        [sys.executable, "-m", "workers", "--burst"],
        cwd=REPO_ROOT,
        env=worker_env(settings),
        capture_output=True,
        timeout=120,
    )
    assert fresh.returncode == 0, fresh.stderr.decode(errors="replace")
    assert assessment_count(session_factory, outcome.submission_id) == 1
    with session_factory() as session:
        rev = get_revision(session, outcome.submission_id, 1)
        assert rev is not None and rev.status == "scored" and rev.attempts == 1
