"""Operations commands: `vigie db`, `vigie keys`, `vigie serve`, `vigie worker`, `vigie sweeper`,
`vigie demo load`.

Each command is a small composition root: it builds `Settings` from the environment when it
runs (never at import) and imports heavy modules inside the command body.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from api.schemas import RecipientIn, SenderIn
from moderation.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = PROJECT_ROOT / "fixtures" / "demo"
# Fields the API accepts; anything else in a fixture line (labels, notes) is left out of the request.
_SUBMISSION_FIELDS = (
    "external_id", "conversation_id", "text", "title", "price", "category", "sender", "recipient", "lang",
)  # fmt: skip


def _settings() -> Settings:
    return Settings.from_env(os.environ)


def register(group: click.Group) -> None:
    """Attach the operations commands to the `vigie` group."""
    for command in (db, keys, serve, worker, sweeper, demo):
        group.add_command(command)


# --- database ---------------------------------------------------------------------------------
@click.group()
def db() -> None:
    """Database schema management."""


@db.command("migrate")
def db_migrate() -> None:
    """Bring the database (VIGIE_DATABASE_URL, default SQLite under VIGIE_DATA_DIR) to the latest schema."""
    from moderation.db import migrate

    settings = _settings()
    migrate(settings.effective_database_url)
    click.echo("database migrated")


# --- API keys ---------------------------------------------------------------------------------
@click.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the configured database; the engine is disposed on exit (no leaked connections)."""
    from moderation.db import make_engine, make_session_factory

    engine = make_engine(_settings())
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


@keys.command("create")
@click.option("--name", required=True, help="Who uses the key (a platform service).")
@click.option("--scopes", required=True, help="Comma-separated: submit,read,moderate,admin.")
def keys_create(name: str, scopes: str) -> None:
    """Create a key. The key itself is printed ALONE on the last line, once: store it now."""
    from moderation.errors import InvalidScopes
    from moderation.keys import create_key

    wanted = {s.strip() for s in scopes.split(",") if s.strip()}
    with _session() as session:
        try:
            row, plaintext = create_key(session, name, wanted, actor="cli")
        except InvalidScopes as exc:
            raise click.BadParameter(str(exc) or "no scopes given", param_hint="--scopes") from None
        session.commit()
        summary = f"created key id={row.id} prefix={row.prefix} name={row.name} scopes={row.scopes}"
        click.echo(summary, err=True)
    click.echo(plaintext)


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secret): id, prefix, name, scopes, created, last used, revoked."""
    from moderation.keys import list_keys

    with _session() as session:
        rows = list_keys(session)
        click.echo(f"{'id':>4}  {'prefix':8}  {'name':20}  {'scopes':28}  {'last used':25}  revoked")
        for row in rows:
            last = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "-"
            revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "-"
            name, scopes = row.name[:20], row.scopes[:28]
            click.echo(f"{row.id:>4}  {row.prefix:8}  {name:20}  {scopes:28}  {last:25}  {revoked}")


@keys.command("revoke")
@click.argument("key_id_or_prefix")
def keys_revoke(key_id_or_prefix: str) -> None:
    """Revoke a key by numeric id or prefix (idempotent)."""
    from moderation.errors import NotFound
    from moderation.keys import revoke_key

    with _session() as session:
        try:
            row = revoke_key(session, key_id_or_prefix, actor="cli")
        except NotFound:
            raise click.ClickException(f"no key {key_id_or_prefix!r}") from None
        session.commit()
        click.echo(f"revoked key id={row.id} prefix={row.prefix} name={row.name}")


# --- processes --------------------------------------------------------------------------------
@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="VIGIE_HOST")
@click.option("--port", default=8000, show_default=True, envvar="VIGIE_PORT", type=int)
@click.option(
    "--workers", "n_workers", default=2, show_default=True, envvar="VIGIE_WEB_CONCURRENCY", type=int
)
def serve(host: str, port: int, n_workers: int) -> None:
    """Run the API under gunicorn (replaces this process; metrics aggregated across workers)."""
    settings = _settings()
    # prometheus-client picks its multiprocess mode from this variable at import: set it before
    # gunicorn (a fresh interpreter, via exec) imports anything, and start from an empty directory
    # so counters of a previous run do not leak in.
    metrics_dir = (settings.data_dir / "prometheus").resolve()
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    argv = [
        sys.executable, "-m", "gunicorn",
        "-c", "python:api.gunicorn_conf",
        "--bind", f"{host}:{port}",
        "--workers", str(n_workers),
        *(["--access-logfile", "-"] if settings.access_log else []),
        "api.app:create_app()",
    ]  # fmt: skip
    os.execv(sys.executable, argv)  # noqa: S606 - fixed argv, no shell


@click.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty (tests, benchmarks).")
def worker(burst: bool) -> None:
    """Run an RQ scoring worker (the model is loaded once, before any job) with its sweeper thread."""
    from workers.worker import run_worker

    run_worker(_settings(), burst=burst)


@click.command()
def sweeper() -> None:
    """Run the sweeper alone: re-enqueue revisions stuck in 'queued' and due webhook events."""
    import signal
    import threading

    from moderation.db import make_engine, make_session_factory
    from workers.queues import make_redis, score_queue, webhook_queue
    from workers.sweeper import run_sweeper
    from workers.worker import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    engine = make_engine(settings)
    redis = make_redis(settings.redis_url)
    stop = threading.Event()
    # SIGTERM (process managers, `make run` on exit) ends the loop after the current pass.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run_sweeper(
            make_session_factory(engine),
            score_queue(redis, settings),
            settings,
            stop,
            webhook_queue=webhook_queue(redis, settings),
        )
    except KeyboardInterrupt:
        pass
    finally:
        engine.dispose()
        redis.close()


# --- demo data --------------------------------------------------------------------------------
@click.group()
def demo() -> None:
    """Demo data."""


def demo_requests(line: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Map one fixture line (contract-2 shape, `id` + `kind`) to (API path, request body)."""
    kind = line.get("kind", "message")
    body = {name: line[name] for name in _SUBMISSION_FIELDS if line.get(name) is not None}
    # The API refuses unknown fields; fixtures may carry extra context (e.g. a recipient's locale).
    for party, model in (("sender", SenderIn), ("recipient", RecipientIn)):
        if isinstance(body.get(party), dict):
            body[party] = {k: v for k, v in body[party].items() if k in model.model_fields}
    body.setdefault("external_id", str(line.get("id") or ""))
    if kind == "listing":
        return "/v1/listings", body
    body.setdefault("conversation_id", f"demo-{body['external_id']}")
    return "/v1/messages", body


@demo.command("load")
@click.option("--url", default=None, help="API base URL (default http://127.0.0.1:$VIGIE_PORT).")
@click.option("--key", envvar="VIGIE_DEMO_KEY", required=True, help="A key with scope submit.")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=DEMO_DIR, show_default=True)
def demo_load(url: str | None, key: str, directory: Path) -> None:
    """POST every line of DIR/*.jsonl to the running API; prints a count per HTTP status."""
    base = (url or f"http://127.0.0.1:{os.environ.get('VIGIE_PORT', '8000')}").rstrip("/")
    files = sorted(directory.glob("*.jsonl")) if directory.is_dir() else []
    if not files:
        click.echo(f"no demo data in {directory} (nothing loaded)")
        return
    counts: dict[int, int] = {}
    for path in files:
        for raw in path.read_text(encoding="utf-8").splitlines():
            if not raw.strip():
                continue
            route, body = demo_requests(json.loads(raw))
            status = _post_json(base + route, body, key)
            counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
    click.echo(f"demo data loaded from {len(files)} file(s): {summary}")


def _post_json(url: str, body: dict[str, Any], key: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own API
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
