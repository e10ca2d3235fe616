"""The `vigie` command line (click). Each command family lives in its own module."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="vigie")
def main() -> None:
    """Vigie: marketplace trust and anti-scam moderation service."""


def _register() -> None:
    # Imported here, not at the top, so `vigie --help` stays fast and modules stay independent.
    from api.cli import (
        learning_commands,
        model_commands,
        moderators,
        ops,
        retention,
        rules_commands,
        scoring_commands,
    )

    ops.register(main)
    scoring_commands.register(main)
    retention.register(main)
    moderators.register(main)
    model_commands.register(main)
    learning_commands.register(main)
    rules_commands.register(main)


_register()
