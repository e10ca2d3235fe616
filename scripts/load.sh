#!/usr/bin/env bash
# `make load`: sustained load on a real stack (gunicorn + RQ workers + Redis + database), SQLite and,
# when VIGIE_LOAD_POSTGRES_URL is set or a local server answers, PostgreSQL. Bounded in time.
# Extra arguments go to bench/load.py (e.g. `make load ARGS="--duration 30 --rq-workers 3"`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure_redis.sh
exec .venv/bin/python bench/load.py "$@"
