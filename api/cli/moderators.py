"""`vigie moderators`: create moderator accounts (password + API key) and list them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from moderation.settings import Settings


def register(group: click.Group) -> None:
    """Attach `vigie moderators` to the `vigie` group."""
    group.add_command(moderators)


@contextmanager
def _session() -> Iterator[Any]:
    from moderation.db import make_engine, make_session_factory

    # Dispose of the engine on the way out: a pooled connection left to the garbage collector
    # warns (and holds a PostgreSQL backend) until the process exits.
    engine = make_engine(Settings.from_env(os.environ))
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


@click.group()
def moderators() -> None:
    """Moderator accounts (console login and a `moderate` API key)."""


@moderators.command("create")
@click.option("--email", required=True, help="Login e-mail.")
@click.option("--name", required=True, help="Display name.")
@click.option(
    "--senior", is_flag=True, help="Works the senior (escalated) queue; may undo others' decisions."
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Console password (prompted when omitted; at least 10 characters).",
)
def moderators_create(email: str, name: str, senior: bool, password: str) -> None:
    """Create a moderator. Their API key is printed ALONE on the last line, once: store it now."""
    from moderation.moderators import InvalidModerator, create_moderator

    with _session() as session:
        try:
            moderator, key = create_moderator(session, email, name, password, senior=senior, actor="cli")
        except InvalidModerator as exc:
            raise click.BadParameter(str(exc), param_hint=f"--{exc.field}") from None
        session.commit()
        role = "senior moderator" if senior else "moderator"
        click.echo(f"created {role} id={moderator.id} email={moderator.email}", err=True)
    click.echo(key)


@moderators.command("list")
def moderators_list() -> None:
    """List moderators (id, e-mail, name, senior, disabled)."""
    from moderation.moderators import list_moderators

    with _session() as session:
        for m in list_moderators(session):
            flags = ("senior " if m.is_senior else "") + ("disabled" if m.disabled_at else "")
            click.echo(f"{m.id}  {m.email:40}  {m.name:24}  {flags}".rstrip())
