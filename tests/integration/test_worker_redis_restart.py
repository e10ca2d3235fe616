"""A worker process outlives a Redis restart (SIGKILL, then restarted on its AOF) and keeps scoring.

RQ's work loop quits when Redis fails outside its dequeue wait (here: while it finishes a job); the
worker entry point must rebuild it, and its sweeper and dispatcher threads must carry on. Each test
runs a real `python -m workers` process against a private redis-server it kills and restarts.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy.orm import Session, sessionmaker

from moderation.settings import Settings
from moderation.submissions import SubmitOutcome
from tests.conftest import free_port
from tests.integration.conftest import assessment_count
from workers.context import WorkerContext
from workers.queues import enqueue_score, score_job_id, score_queue
from workers.worker import (
    RESTART_BACKOFF_BASE_S,
    RESTART_BACKOFF_CAP_S,
    _abandoned_job,
    _dispose,
    make_worker,
    restart_delay,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


class RedisProcess:
    """A redis-server with AOF on a fixed port and directory, which the test can SIGKILL and restart."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is required (scripts/ensure_redis.sh installs it)")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except Exception:
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisProcess(workdir)
    server.start()
    yield server
    if server.proc is not None:
        server.kill()


def start_worker(settings: Settings, redis_url: str, log_path: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(
        VIGIE_DATABASE_URL=settings.database_url,
        VIGIE_REDIS_URL=redis_url,
        VIGIE_DATA_DIR=str(settings.data_dir),
        VIGIE_LOG_LEVEL="WARNING",
        **extra,
    )
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "workers"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_scored(
    session_factory: sessionmaker[Session], submission_id: str, proc: subprocess.Popen[bytes], log_path: Path
) -> None:
    deadline = time.monotonic() + 90
    while assessment_count(session_factory, submission_id) == 0:
        assert proc.poll() is None, f"the worker exited:\n{log_path.read_text(errors='replace')}"
        assert time.monotonic() < deadline, f"never scored:\n{log_path.read_text(errors='replace')}"
        time.sleep(0.2)


@pytest.mark.slow
def test_worker_survives_redis_restart_during_a_job(
    settings: Settings,
    private_redis: RedisProcess,
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    """Redis dies while a job runs and stays down past RQ's own retries: RQ's loop quits as it
    finishes the job; the process rebuilds it, the sweeper recovers what was never enqueued."""
    redis = Redis.from_url(private_redis.url)
    queue = score_queue(redis, settings)
    first = submit_message(external_id="before-outage")
    assert enqueue_score(queue, first.submission_id, 1)
    log_path = tmp_path / "worker.log"
    proc = start_worker(
        settings,
        private_redis.url,
        log_path,
        # The job sleeps 3 s before scoring: Redis is killed inside that window.
        VIGIE_DEBUG_JOB_DELAY_S="3",
        VIGIE_SWEEPER_INTERVAL_S="1",
        VIGIE_SWEEPER_STALE_AFTER_S="2",
    )
    try:
        job_id = score_job_id(first.submission_id, 1)
        deadline = time.monotonic() + 60
        while (
            Job.fetch(job_id, connection=redis, serializer=JSONSerializer).get_status() != JobStatus.STARTED
        ):
            assert proc.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.05)
        redis.close()
        private_redis.kill()
        # Down for longer than redis-py's own retries, so RQ's bookkeeping after the job fails.
        time.sleep(12)
        assert proc.poll() is None, log_path.read_text(errors="replace")
        private_redis.start()

        # Scored after the restart: enqueued through Redis, and committed without a job (as the API
        # does when Redis is down), which only the sweeper thread can pick up.
        second = submit_message(external_id="after-outage")
        assert enqueue_score(queue, second.submission_id, 1)
        unqueued = submit_message(external_id="never-enqueued")
        for outcome in (first, second, unqueued):
            wait_scored(session_factory, outcome.submission_id, proc, log_path)
        assert proc.poll() is None
        log_text = log_path.read_text(errors="replace")
        assert "quit without a stop request" in log_text, log_text
        assert "released job" in log_text, log_text
    finally:
        stop_worker(proc)
        redis.close()
    assert proc.returncode == 0, log_path.read_text(errors="replace")
    for outcome in (first, second, unqueued):
        assert assessment_count(session_factory, outcome.submission_id) == 1


@pytest.mark.slow
def test_sigterm_while_waiting_for_redis_stops_the_worker(
    settings: Settings,
    private_redis: RedisProcess,
    submit_message: Callable[..., SubmitOutcome],
    tmp_path: Path,
) -> None:
    """Between RQ work loops RQ's own signal handlers are gone: a SIGTERM during the backoff must
    still end the process cleanly, without waiting for Redis."""
    redis = Redis.from_url(private_redis.url)
    outcome = submit_message()
    assert enqueue_score(score_queue(redis, settings), outcome.submission_id, 1)
    log_path = tmp_path / "worker.log"
    proc = start_worker(settings, private_redis.url, log_path, VIGIE_DEBUG_JOB_DELAY_S="2")
    try:
        job_id = score_job_id(outcome.submission_id, 1)
        deadline = time.monotonic() + 60
        while (
            Job.fetch(job_id, connection=redis, serializer=JSONSerializer).get_status() != JobStatus.STARTED
        ):
            assert proc.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.05)
        redis.close()
        private_redis.kill()
        deadline = time.monotonic() + 60
        while "quit without a stop request" not in log_path.read_text(errors="replace"):
            assert proc.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        redis.close()
    assert proc.returncode == 0, log_path.read_text(errors="replace")


@pytest.mark.parametrize("failures", [1, 2, 3, 5, 8, 20])
def test_restart_delay_grows_with_jitter_and_stays_capped(failures: int) -> None:
    ceiling = min(RESTART_BACKOFF_CAP_S, RESTART_BACKOFF_BASE_S * 2 ** (failures - 1))
    delays = [restart_delay(failures, random.Random(seed)) for seed in range(200)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    # Jittered: a fleet restarting at once does not reconnect in lockstep.
    assert max(delays) - min(delays) > ceiling / 4


@pytest.mark.slow
def test_batched_dispatch_resumes_after_redis_restart(
    settings: Settings,
    private_redis: RedisProcess,
    submit_message: Callable[..., SubmitOutcome],
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    """With batched dispatch the API only commits: the dispatcher thread must survive the outage."""
    log_path = tmp_path / "worker.log"
    proc = start_worker(
        settings,
        private_redis.url,
        log_path,
        VIGIE_DISPATCH="batched",
        VIGIE_SWEEPER_INTERVAL_S="1",
        VIGIE_SWEEPER_STALE_AFTER_S="5",
    )
    try:
        first = submit_message(external_id="before-outage")
        wait_scored(session_factory, first.submission_id, proc, log_path)
        private_redis.kill()
        during = submit_message(external_id="during-outage")
        time.sleep(5)
        private_redis.start()
        after = submit_message(external_id="after-outage")
        for outcome in (during, after):
            wait_scored(session_factory, outcome.submission_id, proc, log_path)
        assert proc.poll() is None
    finally:
        stop_worker(proc)
    assert proc.returncode == 0, log_path.read_text(errors="replace")
    for outcome in (first, during, after):
        assert assessment_count(session_factory, outcome.submission_id) == 1


def test_idle_worker_cleanup_does_not_touch_redis(
    settings: Settings, private_redis: RedisProcess, worker_ctx: WorkerContext
) -> None:
    """After an idle work loop died with Redis, finding its abandoned job and closing it must not
    read Redis: RQ's `get_current_job_id()` does when idle, and that raised and ended the process
    (seen in `make chaos` on PostgreSQL)."""
    ctx = dataclasses.replace(worker_ctx, settings=dataclasses.replace(settings, redis_url=private_redis.url))
    worker = make_worker(ctx)
    private_redis.kill()
    assert _abandoned_job(worker) == []
    _dispose(worker)
