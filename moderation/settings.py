"""Configuration from `VIGIE_*` environment variables (DESIGN.md contract 5).

Both composition roots (`api.create_app` and the worker entry point) build from
`Settings.from_env(os.environ)`; tests construct `Settings(...)` directly. Reading the
environment happens here and nowhere else, and never at import time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""  # default: sqlite file under data_dir
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "vigie-score"
    webhook_queue_name: str = "vigie-webhooks"
    # Where verdict and decision events are POSTed; empty disables webhooks.
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_timeout_s: float = 5.0
    webhook_max_attempts: int = 8
    model_path: str = ""  # default: the artifact shipped inside the scoring package
    # Rule pack and brand list (default: the files shipped in scoring/rules/); workers and the API
    # check them (and the `vigie:scorer:generation` Redis key) this often and reload without a restart.
    rules_path: str = ""
    brands_path: str = ""
    rules_check_s: float = 2.0
    # Requests and text limits (413 for the body, 422 for a field).
    max_body_bytes: int = 256 * 1024
    max_text_chars: int = 20_000
    rate_limit_per_minute: int = 6000
    # API keys are checked against the database at most once per this many seconds per process
    # (a revocation takes effect within it); 0 checks every request.
    auth_cache_ttl_s: float = 30.0
    # POST /v1/messages/batch and /v1/listings/batch accept at most this many items.
    batch_max_items: int = 100
    sync_budget_ms: int = 300
    # A submission still `queued` after this long is re-enqueued by the sweeper.
    sweeper_stale_after_s: float = 30.0
    sweeper_interval_s: float = 10.0
    # A revision re-enqueued this many times without a verdict is marked `failed` (poison content).
    score_max_attempts: int = 10
    # How accepted submissions reach the workers: "per_request" (the API enqueues one job per
    # submission after commit) or "batched" (the API only commits; a dispatcher thread in the workers
    # claims queued revisions from the database and enqueues them as multi-item jobs).
    dispatch: str = "per_request"
    # Revisions per job: each job has a fixed cost (RQ bookkeeping, ~7 queries, a commit), so under
    # load bigger jobs keep the workers ahead and verdicts come sooner (make load, SQLite, 500 items/s:
    # 25 per job p99 3.7 s, 100 per job 1.5 s, 200 per job 0.7 s; loaded machine).
    dispatch_batch_size: int = 200
    dispatch_interval_s: float = 0.05
    # RQ job timeout; a `started` job older than this (plus a grace) belongs to a dead worker.
    job_timeout_s: int = 120
    # First webhook retry delay; later ones double (capped), with jitter.
    webhook_backoff_base_s: float = 2.0
    # `vigie purge`: personal data of submissions older than this is erased (verdicts are kept).
    retention_days: int = 30
    # Nightly retraining from moderator labels (workers/nightly.py): workers run RQ's scheduler and
    # a job retrains at this hour (UTC), promoting the candidate only through the registry's gate.
    nightly_retrain: bool = False
    nightly_retrain_hour_utc: int = 3
    # The promotion gate's precision rule: a candidate's held-out precision may be at most this much
    # (absolute) below the active model's. 0.0 = strictly not worse; see the README for why an
    # operator might allow a small tolerance (held-out noise).
    promote_precision_tolerance: float = 0.0
    # Fault injection for tests only: score_submission sleeps this long before recording.
    debug_job_delay_s: float = 0.0
    # Review queue: how long a claim lasts without activity, and how long a decision can be undone.
    review_lease_s: float = 300.0
    review_undo_window_s: float = 300.0
    # Signals (workers/signals.py): campaigns, shared entities, senders, conversations. Redis keys expire
    # after their window, so memory stays bounded; the block list lives in the database.
    signals_enabled: bool = True
    signals_redis_timeout_s: float = 1.0  # a hung Redis costs at most this per round trip, then is skipped
    campaign_window_s: float = 24 * 3600.0
    campaign_min_recipients: int = 5
    campaign_min_recipients_per_sender: float = 3.0  # fewer: many people phrasing alike
    campaign_min_similarity: float = 0.7  # estimated Jaccard similarity of word bigrams
    campaign_min_tokens: int = 8  # shorter messages are never templates ("toujours dispo ?")
    entity_window_s: float = 30 * 24 * 3600.0
    shared_entity_min_accounts: int = 3
    blocklist_ttl_days: float = 180.0  # a confirmed entity stops counting after this long
    velocity_per_minute: int = 10
    velocity_per_hour: int = 120
    new_account_days: float = 7.0
    fanout_conversations_per_hour: int = 10
    sender_many_payees: int = 3  # distinct IBANs/payment handles from one account (0 disables)
    conversation_history_limit: int = 30
    # Shadow mode (workers/shadow.py): a candidate rule pack and/or text model scores live traffic next
    # to the active one and its verdicts are only recorded. Both empty: shadow mode is off.
    shadow_rules_path: str = ""
    shadow_model_path: str = ""
    shadow_name: str = ""  # default: derived from the candidate's rules and model versions
    # /metrics quality gauges (api/quality_metrics.py) are recomputed from the database at most this often.
    quality_metrics_cache_s: float = 60.0
    secret_key: str = ""  # Flask session signing (console); generated per data dir when empty
    log_level: str = "INFO"
    # gunicorn's per-request access log (`vigie serve`): off by default, it costs ~10% of a single
    # submission's API CPU (py-spy); the reverse proxy logs requests anyway.
    access_log: bool = False
    environment: str = "development"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vigie.sqlite3').resolve()}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from `VIGIE_<FIELD>` variables; unknown `VIGIE_*` names are kept in `extra`."""
        kwargs: dict[str, object] = {}
        known = {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}
        extra: dict[str, str] = {}
        for key, raw in env.items():
            if not key.startswith("VIGIE_"):
                continue
            name = key[len("VIGIE_") :].lower()
            f = known.get(name)
            if f is None:
                extra[name] = raw
                continue
            default = f.default
            if isinstance(default, bool):
                kwargs[name] = _bool(raw)
            elif isinstance(default, int):
                kwargs[name] = int(raw)
            elif isinstance(default, float):
                kwargs[name] = float(raw)
            elif isinstance(default, Path):
                kwargs[name] = Path(raw)
            else:
                kwargs[name] = raw
        return cls(**kwargs, extra=extra)  # type: ignore[arg-type]
