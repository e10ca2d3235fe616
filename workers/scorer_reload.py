"""Scorer generations: rule packs, brand lists and models reloaded by running processes, no restart.

`ReloadingScorer` wraps the process's Scorer (workers and the API's sync mode) and, every
`Settings.rules_check_s` seconds, from a background thread:

- stats the rule pack and brand list files (`VIGIE_RULES_PATH`, `VIGIE_BRANDS_PATH`); when the mtime or
  size moved, hashes the content, and when the bytes differ, validates the new file and builds a new
  Scorer that reuses the loaded models (a rules-only change never reloads a model);
- reads the Redis counter `vigie:scorer:generation`; when another process bumped it with
  `request_reload` (`vigie rules reload`, `vigie model promote`), builds a whole new Scorer with
  `workers.context.load_scorer(settings)` (rules, brands and the active model).

The new Scorer is built off the scoring path and swapped in with one attribute assignment: a call in
flight finishes on the Scorer it started with, the next one gets the new one, and every result carries
the `rules_version` / `model_version` of the Scorer that produced it. An invalid file is rejected with
a logged error naming the bad key, and the old Scorer keeps serving. Redis being down only disables
the generation check; file checks go on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from moderation.settings import Settings
from scoring.types import ScoreContext, ScoreInput, ScoreResult
from workers.scoring import Scorer

log = logging.getLogger(__name__)

GENERATION_KEY = "vigie:scorer:generation"
# Why and when the generation was last bumped (shown by `vigie rules show`).
LAST_RELOAD_KEY = "vigie:scorer:last_reload"
# The generation check must not hold a watcher for a hung Redis longer than this.
_REDIS_TIMEOUT_S = 1.0
# Each process refreshes `<prefix><host>:<pid>` (its versions, as JSON) at every check; the key expires
# after this long, so `vigie rules show` lists live processes only.
PROCESS_KEY_PREFIX = "vigie:scorer:process:"
PROCESS_KEY_TTL_S = 60


def request_reload(redis: Redis, reason: str) -> int:
    """Ask every worker and API process to reload its Scorer fully; returns the new generation.

    Processes notice within their check interval (`VIGIE_RULES_CHECK_S`). `reason` is logged by each
    process and kept for `vigie rules show` ("rules edited", "model promoted: <version>")."""
    pipe = redis.pipeline(transaction=True)
    pipe.incr(GENERATION_KEY)
    pipe.set(LAST_RELOAD_KEY, json.dumps({"reason": reason, "at": time.time()}))
    generation, _ = pipe.execute()
    log.info("scorer reload requested: generation %s (%s)", generation, reason)
    return int(generation)


def read_generation(redis: Redis) -> int:
    """The current generation (0 when no reload was ever requested)."""
    raw = redis.get(GENERATION_KEY)
    return int(raw) if raw is not None else 0


def last_reload(redis: Redis) -> dict[str, Any] | None:
    """The reason and time (epoch seconds) of the last `request_reload`, or None."""
    raw = redis.get(LAST_RELOAD_KEY)
    return json.loads(raw) if raw is not None else None


def serving_processes(redis: Redis) -> dict[str, dict[str, Any]]:
    """What each live worker/API process scores with: "<host>:<pid>" -> rules/model version, generation."""
    keys = sorted(redis.scan_iter(match=PROCESS_KEY_PREFIX + "*", count=500))
    values = redis.mget(keys) if keys else []
    prefix = PROCESS_KEY_PREFIX.encode()
    return {
        key.removeprefix(prefix).decode(): json.loads(value)
        for key, value in zip(keys, values, strict=True)
        if value is not None
    }


def rule_paths(settings: Settings) -> tuple[Path, Path]:
    """The rule pack and brand list files a process built from `settings` scores with."""
    from scoring.rulepack import DEFAULT_BRANDS_PATH, DEFAULT_RULES_PATH

    rules = Path(settings.rules_path) if settings.rules_path else DEFAULT_RULES_PATH
    brands = Path(settings.brands_path) if settings.brands_path else DEFAULT_BRANDS_PATH
    return rules, brands


@dataclass(frozen=True)
class _FileState:
    """What the current Scorer was built from: stat fingerprint and content hash of one file."""

    stat: tuple[int, int]  # (mtime_ns, size): cheap to compare every check
    digest: str  # sha256 of the content: a touch without an edit does not rebuild anything


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def _read_state(path: Path) -> tuple[_FileState, str]:
    stat = _stat(path)
    text = path.read_text(encoding="utf-8")
    return _FileState(stat, hashlib.sha256(text.encode("utf-8")).hexdigest()), text


# Called with (None, first Scorer) at construction, then (old, new) at every swap.
SwapListener = Callable[[Any, Any], None]


class ReloadingScorer:
    """A `workers.scoring.Scorer` whose rules, brand list and models can change while it serves.

    Thread-safe: `score`/`score_many` read the current Scorer once per call; checks and rebuilds are
    serialised by a lock and never run on the scoring path (except `check_now()`, called explicitly).
    """

    def __init__(
        self,
        settings: Settings,
        scorer: Scorer,
        *,
        loader: Callable[[Settings], Scorer] | None = None,
        redis: Redis | None = None,
        check_s: float | None = None,
        on_swap: Sequence[SwapListener] = (),
    ) -> None:
        from workers.context import load_scorer

        self.settings = settings
        self._current = scorer
        self._loader = loader or load_scorer
        self._owns_redis = redis is None
        self._redis = redis or Redis.from_url(
            settings.redis_url, socket_connect_timeout=_REDIS_TIMEOUT_S, socket_timeout=_REDIS_TIMEOUT_S
        )
        self._listeners = list(on_swap)
        self._process_key = f"{PROCESS_KEY_PREFIX}{socket.gethostname()}:{os.getpid()}"
        self.rules_path, self.brands_path = rule_paths(settings)
        self._lock = threading.Lock()
        self._files: dict[Path, _FileState] = {}
        self._rejected: dict[Path, tuple[int, int]] = {}  # stats of a rejected edit: logged once
        self._unreadable = False
        for path in (self.rules_path, self.brands_path):
            try:
                self._files[path] = _read_state(path)[0]
            except OSError as exc:
                log.warning("cannot read %s (%s): changes to it will load once it is readable", path, exc)
        self._redis_ok = True
        self._generation: int | None = None
        self._read_generation()
        self._heartbeat()
        for listener in self._listeners:
            listener(None, scorer)
        self.reloads = 0  # swaps done by this instance (tests, `vigie rules show`)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        interval = settings.rules_check_s if check_s is None else check_s
        if interval > 0:
            self._thread = threading.Thread(
                target=_watch,
                args=(weakref.ref(self), self._stop, interval),
                name="vigie-scorer-reload",
                daemon=True,
            )
            self._thread.start()

    # --- the Scorer protocol -------------------------------------------------------------------------

    def score(self, item: ScoreInput, context: ScoreContext | None = None, /) -> ScoreResult:
        return self._current.score(item, context)

    def score_many(
        self, items: Sequence[ScoreInput], contexts: Sequence[ScoreContext | None] | None = None, /
    ) -> list[ScoreResult]:
        # One read of `_current`: a whole batch is scored by one Scorer, with one rules_version.
        return self._current.score_many(items, contexts)

    @property
    def current(self) -> Scorer:
        return self._current

    @property
    def rules_version(self) -> str:
        return str(getattr(self._current, "rules_version", "unknown"))

    @property
    def model_version(self) -> str:
        return str(getattr(self._current, "model_version", "unknown"))

    @property
    def generation(self) -> int | None:
        """The Redis generation this Scorer was built for (None while Redis was never reachable)."""
        return self._generation

    # --- checks --------------------------------------------------------------------------------------

    def check_now(self) -> bool:
        """Check the generation and the files once; True when a new Scorer was swapped in."""
        with self._lock:
            generation = self._read_generation()
            if generation is not None and generation != self._generation:
                swapped = self._full_reload(generation)
                self._generation = generation
            else:
                swapped = self._check_files()
            self._heartbeat()
            return swapped

    def _heartbeat(self) -> None:
        """Tell `vigie rules show` what this process serves now (skipped while Redis is unreadable)."""
        if not self._redis_ok:
            return
        beat = {"rules_version": self.rules_version, "model_version": self.model_version}
        # A failure here is reported by the next generation read.
        with contextlib.suppress(RedisError, OSError):
            self._redis.set(
                self._process_key, json.dumps(beat | {"generation": self._generation}), ex=PROCESS_KEY_TTL_S
            )

    def close(self) -> None:
        """Stop the watcher thread and release the Redis client this instance opened."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with contextlib.suppress(RedisError, OSError):
            self._redis.delete(self._process_key)
        if self._owns_redis:
            self._redis.close()

    def _read_generation(self) -> int | None:
        """The Redis generation, or None when Redis cannot be read."""
        try:
            generation = read_generation(self._redis)
        except (RedisError, OSError, ValueError) as exc:
            if self._redis_ok:
                log.warning(
                    "scorer generation unreadable (%s); rule files are still checked", type(exc).__name__
                )
            self._redis_ok = False
            return self._generation
        if not self._redis_ok:
            log.info("scorer generation readable again: %s", generation)
        self._redis_ok = True
        if self._generation is None:
            # First contact (at start, or after Redis was down since start): the Scorer already loaded
            # is the one this generation asks for.
            self._generation = generation
        return generation

    def _full_reload(self, generation: int) -> bool:
        reason = "?"
        try:
            info = last_reload(self._redis)
            reason = str(info.get("reason", "?")) if info else "?"
        except (RedisError, OSError, ValueError):
            pass
        try:
            states = {path: _read_state(path)[0] for path in (self.rules_path, self.brands_path)}
            new = self._loader(self.settings)
        except Exception as exc:
            # Keep serving: a bad file or model must not take scoring down. The file states are left
            # as they were, so fixing the file reloads it at the next check.
            log.error(
                "scorer reload for generation %s (%s) failed, keeping rules_version %s, model_version %s: %s",
                generation, reason, self.rules_version, self.model_version, exc,
            )  # fmt: skip
            return False
        self._files.update(states)
        self._rejected.clear()
        self._swap(new, f"generation {generation}: {reason}")
        return True

    def _check_files(self) -> bool:
        paths = (self.rules_path, self.brands_path)
        try:
            stats = {path: _stat(path) for path in paths}
            if all(stats[p] in (self._seen(p)) for p in paths):
                return False
            read = {path: _read_state(path) for path in paths}
        except OSError as exc:
            if not self._unreadable:
                log.warning("cannot read a rule file (%s); keeping rules_version %s", exc, self.rules_version)
            self._unreadable = True
            return False
        self._unreadable = False
        changed = {p for p in paths if p not in self._files or read[p][0].digest != self._files[p].digest}
        for path in set(paths) - changed:
            self._files[path] = read[path][0]  # touched, not edited
        if not changed:
            return False
        return self._rebuild_for_files(read, changed)

    def _seen(self, path: Path) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        known = self._files.get(path)
        return (known.stat if known else None, self._rejected.get(path))

    def _rebuild_for_files(self, read: dict[Path, tuple[_FileState, str]], changed: set[Path]) -> bool:
        from scoring.engine import Scorer as EngineScorer
        from scoring.lookalike import DomainAnalyzer
        from scoring.rulepack import RulePackError, parse_brands, parse_rulepack

        try:
            where = self.rules_path
            pack = parse_rulepack(read[self.rules_path][1])
            where = self.brands_path
            brands = parse_brands(read[self.brands_path][1])
        except RulePackError as exc:
            # The error names the key ("rule[3] (otp).weight: ..."); the stats are remembered so the
            # same bad edit is reported once, and the next edit of either file is checked again.
            log.error("rejected %s, keeping rules_version %s: %s", where, self.rules_version, exc)
            for path, (state, _text) in read.items():
                self._rejected[path] = state.stat
            return False
        current: Any = self._current
        if all(hasattr(current, a) for a in ("text_model", "url_model", "analyzer")):
            # Rules or brands only: keep the loaded models, index the brand list again if it changed.
            analyzer = (
                DomainAnalyzer.from_toml(brands.data) if self.brands_path in changed else current.analyzer
            )
            new: Scorer = EngineScorer(
                pack,
                text_model=current.text_model,
                url_model=current.url_model,
                analyzer=analyzer,
                brands_version=brands.version,
            )
        else:
            new = self._loader(self.settings)  # a wrapper, not an engine Scorer: nothing to reuse
        self._files.update({path: state for path, (state, _text) in read.items()})
        self._rejected.clear()
        self._swap(new, "edited " + ", ".join(sorted(p.name for p in changed)))
        return True

    def _swap(self, new: Scorer, why: str) -> None:
        old = self._current
        old_rules, old_model = self.rules_version, self.model_version
        self._current = new
        self.reloads += 1
        log.info(
            "scorer reloaded (%s): rules_version %s -> %s, model_version %s -> %s",
            why, old_rules, self.rules_version, old_model, self.model_version,
        )  # fmt: skip
        for listener in self._listeners:
            try:
                listener(old, new)
            except Exception:
                log.exception("scorer swap listener failed")


def _watch(ref: weakref.ref[ReloadingScorer], stop: threading.Event, interval: float) -> None:
    """The watcher loop; holds the scorer weakly so an unused one is collected and its thread ends."""
    while not stop.wait(interval):
        scorer = ref()
        if scorer is None:
            return
        try:
            scorer.check_now()
        except Exception:
            log.exception("scorer reload check failed; will retry")
        del scorer
