"""`vigie model train|list|show|promote|rollback`: the model registry from the command line.

Training and promotion logic lives in `workers.nightly` and `moderation.model_registry`; these
commands parse options, open the database, print, and after a promotion or rollback ask every
worker to reload its scorer (Redis generation counter). Exit codes: 0 done, 1 refused by the gate
or nothing to roll back, 2 bad usage (click).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session, sessionmaker

from moderation.settings import Settings

CLI_ACTOR_PREFIX = "cli:"


def register(main: click.Group) -> None:
    """Add the `model` command group to `vigie`."""
    main.add_command(model)


@click.group()
def model() -> None:
    """Trained models: train on labels, list, show, promote through the gate, roll back."""


@contextmanager
def _database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    from moderation.db import make_engine, make_session_factory

    engine = make_engine(settings)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def _settings() -> Settings:
    """Settings from the environment, with the gate's tolerance checked before any work."""
    from scoring.label_training import check_precision_tolerance

    settings = Settings.from_env(os.environ)
    try:
        check_precision_tolerance(settings.promote_precision_tolerance)
    except ValueError as exc:
        raise click.UsageError(f"VIGIE_PROMOTE_PRECISION_TOLERANCE: {exc}") from None
    return settings


def _actor(actor: str | None) -> str:
    return actor or CLI_ACTOR_PREFIX + os.environ.get("USER", "unknown")


def _reload(settings: Settings, reason: str) -> None:
    from redis.exceptions import RedisError

    from workers.queues import make_redis
    from workers.scorer_reload import request_reload

    redis = make_redis(settings.redis_url)
    try:
        request_reload(redis, reason)
    except RedisError as exc:
        # The registry is the record: workers started later load the active model anyway.
        click.echo(f"warning: could not ask running workers to reload ({exc}); restart them", err=True)
    finally:
        redis.close()


@model.command("train")
@click.option(
    "--corpus-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Fixtures corpus (train/ and holdout/); default: fixtures/corpus.",
)
@click.option("--promote", "promote_", is_flag=True, help="Promote the candidate when the gate passes.")
@click.option("--n-bits", type=click.IntRange(10, 24), default=20, show_default=True)
@click.option("--folds", type=click.IntRange(2, 10), default=5, show_default=True)
@click.option("--actor", default=None, help="Recorded as created_by / promoted_by (default cli:$USER).")
def train_command(
    corpus_dir: Path | None, promote_: bool, n_bits: int, folds: int, actor: str | None
) -> None:
    """Train a TextModel on fixtures + moderator labels, register it, compare it with the active one."""
    run_label_training(corpus_dir, promote_, n_bits, folds, actor)


def run_label_training(
    corpus_dir: Path | None, promote: bool, n_bits: int = 20, folds: int = 5, actor: str | None = None
) -> None:
    """The body of `vigie model train` (also `vigie train --labels`)."""
    from scoring.training import TrainConfig
    from workers import nightly

    settings = _settings()
    config = TrainConfig(n_bits=n_bits, folds=folds)
    with _database(settings) as session_factory:
        outcome = nightly.retrain(
            settings,
            session_factory,
            actor=_actor(actor),
            promote=promote,
            corpus_dir=corpus_dir or nightly.DEFAULT_CORPUS,
            config=config,
        )
    click.echo(outcome.table)
    click.echo(f"candidate {outcome.version}: {outcome.status}; gate: {'; '.join(outcome.gate['reasons'])}")
    if outcome.promoted:
        _reload(settings, f"model promoted: {outcome.version}")
        click.echo(f"promoted {outcome.version}")
    elif promote:
        click.echo(f"not promoted: {'; '.join(outcome.refused)}", err=True)
        raise click.exceptions.Exit(1)


@model.command("list")
@click.option("--kind", type=click.Choice(["text", "url"]), default=None)
def list_command(kind: str | None) -> None:
    """Registered models, newest first, with status and held-out precision/recall."""
    from moderation import model_registry

    settings = Settings.from_env(os.environ)
    with _database(settings) as session_factory, session_factory() as session:
        rows = model_registry.list_versions(session, kind)
    if not rows:
        click.echo("no registered models: workers serve the shipped artifacts")
        return
    click.echo(f"{'version':<20} {'kind':<5} {'status':<10} {'precision':>9} {'recall':>7}  created_at  by")
    for row in rows:
        figures = row.metrics.get("candidate", {}).get("all", {})
        click.echo(
            f"{row.version:<20} {row.kind:<5} {row.status:<10} {_num(figures.get('precision')):>9}"
            f" {_num(figures.get('recall')):>7}  {row.created_at:%Y-%m-%d %H:%M}  {row.created_by}"
        )


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


@model.command("show")
@click.argument("version")
def show_command(version: str) -> None:
    """One model's record as JSON: status, comparison with the model it was evaluated against, data."""
    from moderation import model_registry
    from moderation.errors import NotFound

    settings = Settings.from_env(os.environ)
    with _database(settings) as session_factory, session_factory() as session:
        try:
            row = model_registry.get_version(session, version)
        except NotFound as exc:
            raise click.BadParameter(str(exc), param_hint="VERSION") from None
        record = {
            "version": row.version,
            "kind": row.kind,
            "status": row.status,
            "created_at": row.created_at.isoformat(),
            "created_by": row.created_by,
            "promoted_at": row.promoted_at.isoformat() if row.promoted_at else None,
            "promoted_by": row.promoted_by,
            "previous_active": row.previous_active,
            "threshold": row.metadata_json.get("threshold"),
            "metrics": row.metrics,
            "trained_on": row.trained_on,
            "artifact_bytes": len(row.artifact),
        }
    click.echo(json.dumps(record, indent=2, sort_keys=True))


@model.command("promote")
@click.argument("version")
@click.option("--force", is_flag=True, help="Skip the gate (needs --reason; audited).")
@click.option("--reason", default=None, help="Why (required with --force).")
@click.option("--actor", default=None)
def promote_command(version: str, force: bool, reason: str | None, actor: str | None) -> None:
    """Make VERSION the active model if it is not worse than the active one (see the README's gate).

    The precision rule allows a drop of VIGIE_PROMOTE_PRECISION_TOLERANCE (default 0: strictly not
    worse), judged now, not when the candidate was trained.
    """
    from moderation import model_registry
    from moderation.clock import utcnow
    from moderation.errors import NotFound

    if force and not reason:
        raise click.BadParameter("--force needs --reason (it is recorded in the audit trail)")
    settings = _settings()
    with _database(settings) as session_factory, session_factory() as session:
        try:
            row = model_registry.promote(
                session,
                version,
                _actor(actor),
                utcnow(),
                force=force,
                reason=reason,
                precision_tolerance=settings.promote_precision_tolerance,
            )
        except NotFound as exc:
            raise click.BadParameter(str(exc), param_hint="VERSION") from None
        except model_registry.PromotionRefused as exc:
            session.commit()  # keeps the `rejected` status and its audit event
            click.echo(f"refused: {'; '.join(exc.reasons)}", err=True)
            raise click.exceptions.Exit(1) from None
        session.commit()
        previous = row.previous_active or model_registry.SHIPPED
    _reload(settings, f"model promoted: {version}")
    click.echo(f"promoted {version} (replaces {previous})")


@model.command("rollback")
@click.option("--kind", type=click.Choice(["text", "url"]), default="text", show_default=True)
@click.option("--reason", default=None)
@click.option("--actor", default=None)
def rollback_command(kind: str, reason: str | None, actor: str | None) -> None:
    """Retire the active model and re-activate the one it replaced (or the shipped artifact)."""
    from moderation import model_registry
    from moderation.clock import utcnow

    settings = Settings.from_env(os.environ)
    with _database(settings) as session_factory, session_factory() as session:
        try:
            restored = model_registry.rollback(session, kind, _actor(actor), utcnow(), reason)
        except model_registry.NothingToRollBack as exc:
            click.echo(str(exc), err=True)
            raise click.exceptions.Exit(1) from None
        session.commit()
    _reload(settings, f"model rolled back to {restored or model_registry.SHIPPED}")
    click.echo(f"rolled back: {restored or model_registry.SHIPPED + ' artifact'} serves now")
