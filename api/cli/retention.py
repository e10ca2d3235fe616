"""`vigie purge --older-than 30d`: erase personal data of old content (moderation.retention)."""

from __future__ import annotations

import os

import click

from moderation.settings import Settings


@click.command()
@click.option(
    "--older-than",
    "older_than",
    default=None,
    help="Age such as 30d, 12h (default: VIGIE_RETENTION_DAYS, 30 days).",
)
def purge(older_than: str | None) -> None:
    """Erase text, payloads and quoted evidence of content older than AGE; keep verdicts and labels."""
    from moderation.db import make_engine, make_session_factory
    from moderation.retention import parse_age, purge_older_than

    settings = Settings.from_env(os.environ)
    try:
        age = parse_age(older_than or f"{settings.retention_days}d")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            report = purge_older_than(session, age)
    finally:
        engine.dispose()
    details = ", ".join(f"{name}={n}" for name, n in sorted(report.counts.items())) or "nothing to purge"
    click.echo(f"purged content created before {report.cutoff.isoformat(timespec='seconds')}: {details}")


def register(main: click.Group) -> None:
    """Add `purge` to the `vigie` command group."""
    main.add_command(purge)
