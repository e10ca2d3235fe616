"""`vigie rules validate|show|reload` against real files and the session's Redis."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from redis import Redis

from api.cli import main
from moderation.settings import Settings
from scoring.rulepack import load_rulepack
from tests.learning.test_rules_reload import add_term, rule_files, write  # noqa: F401 - fixture
from workers.context import load_scorer
from workers.scorer_reload import GENERATION_KEY, ReloadingScorer, last_reload


def env(redis_url: str, files: tuple[Path, Path]) -> dict[str, str]:
    return {
        "VIGIE_REDIS_URL": redis_url,
        "VIGIE_RULES_PATH": str(files[0]),
        "VIGIE_BRANDS_PATH": str(files[1]),
    }


def test_validate_prints_versions_of_the_configured_files(
    rule_files: tuple[Path, Path],  # noqa: F811
    redis_url: str,
) -> None:
    result = CliRunner().invoke(main, ["rules", "validate"], env=env(redis_url, rule_files))
    assert result.exit_code == 0, result.output
    version = load_rulepack(rule_files[0]).version
    assert f"{rule_files[0]}: ok, rule pack {version}:" in result.output
    assert f"{rule_files[1]}: ok, brand list 2025.2+" in result.output


def test_validate_names_the_bad_key_and_exits_1(
    rule_files: tuple[Path, Path],  # noqa: F811
    redis_url: str,
) -> None:
    rules, brands = rule_files
    write(
        rules,
        re.sub(r"^category = \"\w+\"", 'category = "spam"', rules.read_text("utf-8"), count=1, flags=re.M),
    )
    write(brands, brands.read_text("utf-8").replace("tokens = ", "token = ", 1))
    result = CliRunner().invoke(
        main, ["rules", "validate", str(rules), str(brands)], env=env(redis_url, rule_files)
    )
    assert result.exit_code == 1
    assert re.search(
        r"pack\.toml: invalid: rule\[0\] \([\w.]+\)\.category: unknown category 'spam'", result.output
    )
    assert "brands.toml: invalid: brand[0] (leboncoin): unknown key(s) ['token']" in result.output


def test_reload_bumps_the_generation_and_a_running_scorer_follows(
    rule_files: tuple[Path, Path],  # noqa: F811
    redis_url: str,
    redis_client: Redis,
) -> None:
    settings = Settings(redis_url=redis_url, rules_path=str(rule_files[0]), brands_path=str(rule_files[1]))
    reloading = ReloadingScorer(settings, load_scorer(settings), check_s=0)
    try:
        before = reloading.current
        result = CliRunner().invoke(
            main, ["rules", "reload", "--reason", "rules reviewed"], env=env(redis_url, rule_files)
        )
        assert result.exit_code == 0, result.output
        assert result.output.startswith("generation 1:")
        assert redis_client.get(GENERATION_KEY) == b"1"
        assert (last_reload(redis_client) or {}).get("reason") == "rules reviewed"
        assert reloading.check_now() and reloading.current is not before and reloading.generation == 1

        shown = CliRunner().invoke(main, ["rules", "show"], env=env(redis_url, rule_files))
        assert shown.exit_code == 0, shown.output
        assert f"rules_version on disk: {reloading.rules_version}" in shown.output
        assert "generation: 1" in shown.output
        assert "last reload request: rules reviewed" in shown.output
        assert "live processes: 1" in shown.output
        assert (
            f"rules {reloading.rules_version}, model {reloading.model_version}, generation 1" in shown.output
        )
    finally:
        reloading.close()
    # A closed scorer's process entry is gone.
    shown = CliRunner().invoke(main, ["rules", "show"], env=env(redis_url, rule_files))
    assert "live processes: 0" in shown.output


def test_reload_with_redis_down_exits_1(
    rule_files: tuple[Path, Path],  # noqa: F811
    unused_redis_url: str,
) -> None:
    result = CliRunner().invoke(main, ["rules", "reload"], env=env(unused_redis_url, rule_files))
    assert result.exit_code == 1
    assert "redis unreachable" in result.output and "nothing reloaded" in result.output
