"""Rule packs hot-reloaded without a restart: file edits, generation bumps, rejected packs, threads.

Every test scores with real rule files copied to the test's directory and the real models; Redis is
the session's redis-server (or a port nobody listens on, for "Redis down")."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from redis import Redis

from moderation.settings import Settings
from scoring.engine import Scorer
from scoring.rulepack import (
    DEFAULT_BRANDS_PATH,
    DEFAULT_RULES_PATH,
    RulePackError,
    load_rulepack,
    parse_brands,
)
from scoring.types import Kind, ScoreInput, Sender, Verdict
from workers.context import load_scorer
from workers.scorer_reload import GENERATION_KEY, ReloadingScorer, read_generation, request_reload

# Allowed by the shipped pack; a scam hit once "zorglub*" joins a single-lexicon payment rule.
TERM = "zorglub*"
TEXT = "Bonjour, je préfère être payé en zorglubs pour l'article, merci."


def target_lexicon(rules_path: Path) -> str:
    """A lexicon that alone fires a rule strong enough to flag a message (found in the pack itself, so
    tuning the pack's content does not break this test)."""
    pack = load_rulepack(rules_path)
    warn = pack.thresholds[Kind.MESSAGE].warn
    for rule in pack.rules:
        single = len(rule.groups) == 1 and not rule.groups[0].startswith("@")
        if single and rule.weight >= warn and Kind.MESSAGE in rule.kinds and not rule.unless:
            return rule.groups[0]
    raise AssertionError("no single-lexicon rule above the warn threshold in the pack")


def add_term(rules_path: Path, term: str = TERM) -> None:
    """Add `term` to the target lexicon, in place (as a moderator editing the file would)."""
    lexicon = target_lexicon(rules_path)
    text = rules_path.read_text(encoding="utf-8")
    edited, count = re.subn(
        rf"^{re.escape(lexicon)} = \[", f'{lexicon} = ["{term}", ', text, count=1, flags=re.M
    )
    assert count == 1, f"lexicon {lexicon} not found as a list in {rules_path}"
    write(rules_path, edited)


def write(path: Path, text: str) -> None:
    """Rewrite a file and move its mtime forward (two writes in one mtime tick look unchanged by stat)."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def item(n: int = 1) -> ScoreInput:
    return ScoreInput(
        id=f"m{n}", kind=Kind.MESSAGE, text=TEXT, lang="fr", sender=Sender(id="s1", account_age_days=1)
    )


@pytest.fixture
def rule_files(tmp_path: Path) -> tuple[Path, Path]:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    rules = rules_dir / "pack.toml"
    brands = rules_dir / "brands.toml"
    shutil.copyfile(DEFAULT_RULES_PATH, rules)
    shutil.copyfile(DEFAULT_BRANDS_PATH, brands)
    return rules, brands


@pytest.fixture
def rules_settings(redis_url: str, tmp_path: Path, rule_files: tuple[Path, Path]) -> Settings:
    """Settings on the test's rule files and the session's Redis; no database (none is used here)."""
    rules, brands = rule_files
    return Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        rules_path=str(rules),
        brands_path=str(brands),
        rules_check_s=0.1,
    )


@pytest.fixture
def make_reloading(rules_settings: Settings) -> Callable[..., ReloadingScorer]:
    """Build ReloadingScorers on the test's files (no watcher thread unless check_s is given)."""
    built: list[ReloadingScorer] = []

    def make(settings: Settings = rules_settings, check_s: float = 0.0, **kwargs: object) -> ReloadingScorer:
        scorer = ReloadingScorer(settings, load_scorer(settings), check_s=check_s, **kwargs)  # type: ignore[arg-type]
        built.append(scorer)
        return scorer

    yield make  # type: ignore[misc]
    for scorer in built:
        scorer.close()


def test_phrase_list_edit_changes_verdicts_and_keeps_models(
    make_reloading: Callable[..., ReloadingScorer],
    rule_files: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    reloading = make_reloading()
    before = reloading.current
    assert reloading.score(item()).verdict == Verdict.ALLOW
    old_version = reloading.rules_version

    add_term(rule_files[0])
    with caplog.at_level(logging.INFO, logger="workers.scorer_reload"):
        assert reloading.check_now() is True

    result = reloading.score(item(2))
    assert result.verdict != Verdict.ALLOW
    assert TERM.rstrip("*") in {r.evidence for r in result.reasons}
    assert result.rules_version == reloading.rules_version != old_version
    assert result.rules_version == load_scorer(reloading.settings).rules_version  # same as a fresh load
    after = reloading.current
    # Rules only: the loaded models and the brand index are reused, not loaded again.
    assert after is not before
    assert after.text_model is before.text_model and after.url_model is before.url_model  # type: ignore[attr-defined]
    assert after.analyzer is before.analyzer  # type: ignore[attr-defined]
    assert f"rules_version {old_version} -> {result.rules_version}" in caplog.text
    assert reloading.check_now() is False  # nothing new


def test_touch_without_edit_rebuilds_nothing(
    make_reloading: Callable[..., ReloadingScorer], rule_files: tuple[Path, Path]
) -> None:
    reloading = make_reloading()
    current = reloading.current
    stat = rule_files[0].stat()
    os.utime(rule_files[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert reloading.check_now() is False
    assert reloading.current is current


def test_invalid_pack_is_rejected_naming_the_key_and_the_old_pack_keeps_serving(
    make_reloading: Callable[..., ReloadingScorer],
    rule_files: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    reloading = make_reloading()
    version = reloading.rules_version
    rules = rule_files[0]
    original = rules.read_text(encoding="utf-8")
    broken = re.sub(r"^weight = [0-9.]+", "weight = 7", original, count=1, flags=re.M)
    assert broken != original
    write(rules, broken)

    with caplog.at_level(logging.ERROR, logger="workers.scorer_reload"):
        assert reloading.check_now() is False
        assert reloading.check_now() is False  # reported once, not at every check
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert ".weight: must be a number in [0, 1], got 7" in errors[0] and str(rules) in errors[0]
    assert reloading.rules_version == version
    assert reloading.score(item()).rules_version == version

    # Fixing the file (with the new term) is picked up at the next check.
    write(rules, original)
    add_term(rules)
    assert reloading.check_now() is True
    assert reloading.score(item(2)).verdict != Verdict.ALLOW


def test_brand_list_edit_is_part_of_rules_version_and_reindexes_brands(
    make_reloading: Callable[..., ReloadingScorer], rule_files: tuple[Path, Path]
) -> None:
    reloading = make_reloading()
    before = reloading.current
    link = ScoreInput(
        id="l1", kind=Kind.MESSAGE, text="Votre colis: https://suivi-zorgpost.fr/colis", lang="fr"
    )
    assert not any(r.detail.get("brand") == "zorgpost" for r in reloading.score(link).reasons)
    pack_version, brands_version = reloading.rules_version.split(";brands=")

    brands = rule_files[1]
    text = brands.read_text(encoding="utf-8")
    write(
        brands,
        text
        + '\n[[brand]]\nname = "zorgpost"\ntokens = ["zorgpost"]\ndomains = ["zorgpost.fr"]'
        + '\nkind = "courier"\n',
    )
    assert reloading.check_now() is True

    new_pack_version, new_brands_version = reloading.rules_version.split(";brands=")
    assert new_pack_version == pack_version and new_brands_version != brands_version
    after = reloading.current
    assert after.analyzer is not before.analyzer  # type: ignore[attr-defined]
    assert after.text_model is before.text_model  # type: ignore[attr-defined]
    details = [r.detail for r in reloading.score(link).reasons]
    assert any(d.get("brand") == "zorgpost" for d in details), details


def test_invalid_brand_list_is_rejected_naming_the_key(
    make_reloading: Callable[..., ReloadingScorer],
    rule_files: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    reloading = make_reloading()
    version = reloading.rules_version
    brands = rule_files[1]
    write(brands, brands.read_text(encoding="utf-8").replace('kind = "platform"', 'kind = "plattform"', 1))
    with caplog.at_level(logging.ERROR, logger="workers.scorer_reload"):
        assert reloading.check_now() is False
    assert "brand[0] (leboncoin).kind: must be one of" in caplog.text
    assert reloading.rules_version == version


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('kind = "courier"', 'kind = "courier"\ncontext_word = ["x"]', 1),
            "unknown key(s) ['context_word']",
        ),
        (
            lambda t: t.replace('tokens = ["leboncoin", "lbc"]', 'tokens = "leboncoin"', 1),
            "brand[0] (leboncoin).tokens: must be a list",
        ),
        (
            lambda t: t.replace('name = "vinted"', 'name = "leboncoin"', 1),
            "brand[1] (leboncoin).name: duplicated",
        ),
        (lambda t: t.replace("global = true", 'global = "yes"', 1), ".global: must be true or false"),
        (lambda t: t.replace('"gouv.qc.ca",', "3,", 1), "lists.allow: must be a list of non-empty strings"),
        (lambda t: t.replace('version = "2025.2"', "", 1), "version: must be a non-empty string"),
        (lambda t: t + "\n[extras]\nx = 1\n", "unknown top-level key(s) ['extras']"),
    ],
)
def test_brand_schema_errors_name_the_key(edit: Callable[[str], str], message: str) -> None:
    shipped = DEFAULT_BRANDS_PATH.read_text(encoding="utf-8")
    assert parse_brands(shipped).brand_count > 0
    with pytest.raises(RulePackError) as excinfo:
        parse_brands(edit(shipped))
    assert message in str(excinfo.value)


def test_generation_bump_reloads_fully_once(
    make_reloading: Callable[..., ReloadingScorer], redis_client: Redis, rules_settings: Settings
) -> None:
    loads: list[Settings] = []

    def counting_loader(settings: Settings) -> Scorer:
        loads.append(settings)
        return load_scorer(settings)  # type: ignore[return-value]

    reloading = make_reloading(loader=counting_loader)
    assert reloading.generation == 0
    before = reloading.current

    assert request_reload(redis_client, "test: model promoted") == 1
    assert read_generation(redis_client) == 1
    assert reloading.check_now() is True
    assert loads == [rules_settings]
    assert reloading.generation == 1
    # A full reload loads the models again (a promoted model replaces the old one).
    assert reloading.current.text_model is not before.text_model  # type: ignore[attr-defined]
    assert reloading.check_now() is False
    assert loads == [rules_settings]


def test_failed_full_reload_keeps_the_old_scorer(
    make_reloading: Callable[..., ReloadingScorer], redis_client: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_loader(settings: Settings) -> Scorer:
        raise FileNotFoundError("no such model artifact: /models/candidate.json")

    reloading = make_reloading(loader=broken_loader)
    current = reloading.current
    request_reload(redis_client, "bad promotion")
    with caplog.at_level(logging.ERROR, logger="workers.scorer_reload"):
        assert reloading.check_now() is False
    assert reloading.current is current
    assert "generation 1 (bad promotion) failed" in caplog.text
    assert reloading.check_now() is False  # the generation was consumed: no retry loop, no log storm


def test_redis_down_file_checks_still_work(
    make_reloading: Callable[..., ReloadingScorer],
    rules_settings: Settings,
    rule_files: tuple[Path, Path],
    unused_redis_url: str,
) -> None:
    reloading = make_reloading(dataclasses.replace(rules_settings, redis_url=unused_redis_url))
    assert reloading.generation is None
    add_term(rule_files[0])
    assert reloading.check_now() is True
    assert reloading.score(item()).verdict != Verdict.ALLOW


def test_watcher_thread_applies_an_edit_within_seconds(
    make_reloading: Callable[..., ReloadingScorer], rule_files: tuple[Path, Path], redis_client: Redis
) -> None:
    reloading = make_reloading(check_s=0.1)
    version = reloading.rules_version
    add_term(rule_files[0])
    deadline = time.monotonic() + 10
    while reloading.rules_version == version:
        assert time.monotonic() < deadline, "the watcher did not reload the edited pack"
        time.sleep(0.05)
    assert reloading.score(item()).verdict != Verdict.ALLOW
    # And a generation bump, with no file change.
    version = reloading.rules_version
    current = reloading.current
    request_reload(redis_client, "test")
    while reloading.current is current:
        assert time.monotonic() < deadline, "the watcher did not apply the generation bump"
        time.sleep(0.05)
    assert reloading.rules_version == version and redis_client.get(GENERATION_KEY) == b"1"


def test_scoring_threads_see_whole_generations_while_packs_swap(
    make_reloading: Callable[..., ReloadingScorer], rule_files: tuple[Path, Path]
) -> None:
    """Four threads score batches while the pack flips between two contents: every result is the one
    its own rules_version gives (never half a swap), and nothing raises."""
    reloading = make_reloading()
    rules = rule_files[0]
    original = rules.read_text(encoding="utf-8")
    allow_version = reloading.rules_version
    add_term(rules)
    edited = rules.read_text(encoding="utf-8")
    assert reloading.check_now()
    flag_version = reloading.rules_version
    expected = {allow_version: Verdict.ALLOW}
    expected[flag_version] = reloading.score(item()).verdict
    assert expected[flag_version] != Verdict.ALLOW

    stop = threading.Event()
    seen: list[tuple[str, Verdict]] = []
    errors: list[BaseException] = []

    def score_loop() -> None:
        try:
            while not stop.is_set():
                results = reloading.score_many([item(n) for n in range(4)])
                assert len({r.rules_version for r in results}) == 1  # one batch, one Scorer
                seen.extend((r.rules_version, r.verdict) for r in results)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=score_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for n in range(10):
            write(rules, original if n % 2 == 0 else edited)
            assert reloading.check_now()
            time.sleep(0.02)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors, errors
    assert {version for version, _ in seen} == {allow_version, flag_version}
    assert all(verdict == expected[version] for version, verdict in seen)
