"""`vigie rules validate|show|reload`: the rule pack and brand list from the command line.

Validation is `scoring.rulepack` (the same code the workers run before swapping a pack in), so a file
that `validate` accepts is one the workers accept. Exit codes: 0 ok, 1 invalid file or Redis
unreachable (for `reload`), 2 bad usage (click).
"""

from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path

import click

from moderation.settings import Settings


def register(main: click.Group) -> None:
    """Add the `rules` command group to `vigie`."""
    main.add_command(rules)


@click.group()
def rules() -> None:
    """Rule packs and brand lists: validate a file, show what is served, reload running processes."""


def _settings() -> Settings:
    return Settings.from_env(os.environ)


def _describe(path: Path) -> str:
    """One line about a valid rule pack or brand list; raises RulePackError naming the bad key."""
    from scoring.rulepack import RulePackError, parse_brands, parse_rulepack

    text = path.read_text(encoding="utf-8")
    try:
        is_brands = "brand" in tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulePackError(f"invalid TOML: {exc}") from None
    if is_brands:
        brands = parse_brands(text)
        allow = len(brands.data.get("lists", {}).get("allow", ()))
        return f"brand list {brands.version}: {brands.brand_count} brands, {allow} allowed domains"
    pack = parse_rulepack(text)
    terms = sum(len(terms) for terms in pack.lexicons.values())
    return (
        f"rule pack {pack.version}: {len(pack.rules)} rules, {len(pack.lexicons)} phrase lists, {terms} terms"
    )


@rules.command("validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False, exists=True))
def validate_command(files: tuple[Path, ...]) -> None:
    """Validate rule pack / brand list FILES (default: the configured ones); print their versions.

    A brand list is recognised by its [[brand]] tables. Errors name the bad key and exit 1."""
    from scoring.rulepack import RulePackError
    from workers.scorer_reload import rule_paths

    paths = files or rule_paths(_settings())
    failed = False
    for path in paths:
        try:
            click.echo(f"{path}: ok, {_describe(path)}")
        except (RulePackError, OSError, UnicodeDecodeError) as exc:
            click.echo(f"{path}: invalid: {exc}", err=True)
            failed = True
    if failed:
        raise SystemExit(1)


@rules.command("show")
def show_command() -> None:
    """The configured files and their versions, the reload generation and what live processes serve."""
    from redis.exceptions import RedisError

    from scoring.rulepack import RulePackError, combined_rules_version, load_brands, load_rulepack
    from workers.queues import make_redis
    from workers.scorer_reload import last_reload, read_generation, rule_paths, serving_processes

    settings = _settings()
    rules_path, brands_path = rule_paths(settings)
    failed = False
    versions: list[str | None] = []
    for path, load in ((rules_path, load_rulepack), (brands_path, load_brands)):
        try:
            loaded = load(path)
            versions.append(loaded.version)
            click.echo(f"{path}: {_describe(path)}")
        except (RulePackError, OSError) as exc:
            click.echo(f"{path}: invalid: {exc}", err=True)
            failed = True
    if not failed:
        click.echo(f"rules_version on disk: {combined_rules_version(versions[0] or '', versions[1])}")
    click.echo(f"check interval: {settings.rules_check_s:g} s")
    redis = make_redis(settings.redis_url)
    try:
        click.echo(f"generation: {read_generation(redis)}")
        info = last_reload(redis)
        if info:
            age = time.time() - float(info.get("at", 0))
            click.echo(f"last reload request: {info.get('reason', '?')} ({age:.0f} s ago)")
        processes = serving_processes(redis)
        click.echo(f"live processes: {len(processes)}")
        for name, served in processes.items():
            click.echo(
                f"  {name}: rules {served.get('rules_version')}, model {served.get('model_version')}, "
                f"generation {served.get('generation')}"
            )
    except RedisError as exc:
        click.echo(f"redis unreachable ({type(exc).__name__}): generation and processes unknown", err=True)
    finally:
        redis.close()
    if failed:
        raise SystemExit(1)


@rules.command("reload")
@click.option("--reason", default="vigie rules reload", show_default=True, help="Logged by every process.")
def reload_command(reason: str) -> None:
    """Ask every worker and API process to reload rules, brands and model now; print the generation."""
    from redis.exceptions import RedisError

    from workers.queues import make_redis
    from workers.scorer_reload import request_reload

    settings = _settings()
    redis = make_redis(settings.redis_url)
    try:
        generation = request_reload(redis, reason)
    except RedisError as exc:
        click.echo(f"redis unreachable ({type(exc).__name__}): nothing reloaded", err=True)
        raise SystemExit(1) from None
    finally:
        redis.close()
    click.echo(f"generation {generation}: processes reload within {settings.rules_check_s:g} s")
