"""Cost of hot-reloading rule packs (workers/scorer_reload.py).

    .venv/bin/python bench/bench_rules_reload.py [--checks 200] [--edits 5]

On a private redis-server and copies of the shipped rule pack and brand list in a temporary
directory, it measures:

- an idle check (`check_now()` with nothing changed: Redis GET of the generation, two stats, the
  heartbeat SET): what every worker and API process pays every VIGIE_RULES_CHECK_S, off the scoring
  path;
- a rules-only rebuild (pack edited: read, hash, validate, new Scorer sharing the loaded models);
- a brand-list rebuild (brands edited: the brand index is built again too);
- a full reload (`load_scorer`, what a `vigie rules reload` / `vigie model promote` costs each process).

Medians are printed; the absolute figures depend on the machine and its load (report `uptime`).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_worker import start_redis

from moderation.settings import Settings
from scoring.rulepack import DEFAULT_BRANDS_PATH, DEFAULT_RULES_PATH
from workers.context import load_scorer
from workers.scorer_reload import ReloadingScorer


def _append_comment(path: Path, n: int) -> None:
    # A comment changes the content hash (hence the version) without changing behaviour.
    path.write_text(path.read_text(encoding="utf-8") + f"\n# bench edit {n}\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--edits", type=int, default=5)
    args = parser.parse_args(argv)
    if shutil.which("redis-server") is None:
        print("redis-server not found (scripts/ensure_redis.sh installs it)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rules, brands = work / "pack.toml", work / "brands.toml"
        shutil.copyfile(DEFAULT_RULES_PATH, rules)
        shutil.copyfile(DEFAULT_BRANDS_PATH, brands)
        server, url = start_redis(work)
        try:
            settings = Settings(data_dir=work, redis_url=url, rules_path=str(rules), brands_path=str(brands))
            full = []
            for _ in range(max(1, args.edits // 2)):
                started = time.perf_counter()
                scorer = load_scorer(settings)
                full.append(time.perf_counter() - started)
            reloading = ReloadingScorer(settings, scorer, check_s=0)
            idle = []
            for _ in range(args.checks):
                started = time.perf_counter()
                assert not reloading.check_now()
                idle.append(time.perf_counter() - started)
            rules_only, brand_list = [], []
            for n in range(args.edits):
                _append_comment(rules, n)
                started = time.perf_counter()
                assert reloading.check_now()
                rules_only.append(time.perf_counter() - started)
                _append_comment(brands, n)
                started = time.perf_counter()
                assert reloading.check_now()
                brand_list.append(time.perf_counter() - started)
            reloading.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"idle check          median {statistics.median(idle) * 1e3:8.2f} ms  (n={len(idle)})")
    print(f"rules-only rebuild  median {statistics.median(rules_only) * 1e3:8.1f} ms  (n={len(rules_only)})")
    print(f"brand-list rebuild  median {statistics.median(brand_list) * 1e3:8.1f} ms  (n={len(brand_list)})")
    print(f"full load_scorer    median {statistics.median(full) * 1e3:8.1f} ms  (n={len(full)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
