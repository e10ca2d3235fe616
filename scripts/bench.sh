#!/usr/bin/env bash
# `make bench`: scorer benchmark, worker benchmark and API/pipeline benchmark (each when present).
# Results print as tables and land under var/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
bash scripts/ensure_redis.sh
mkdir -p var/bench
# Wall-clock figures depend on what else runs: say how loaded the machine was.
echo "load average (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
for bench in bench/bench_scoring.py bench/bench_worker.py bench/bench_api.py bench/bench_signals.py; do
  if [ -f "$bench" ]; then
    echo "== $bench"
    "$PY" "$bench"
  else
    echo "== $bench: not present, skipped"
  fi
done
