#!/usr/bin/env bash
# `make chaos`: >= 10,000 submissions while workers are SIGKILLed, Redis restarts, the database goes
# away for seconds and the webhook receiver fails; exits non-zero if anything accepted is lost or
# doubled, or a webhook event never arrives. SQLite always; PostgreSQL too when one is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure_redis.sh
PY=.venv/bin/python
"$PY" bench/chaos.py --db sqlite "$@"
if "$PY" -c 'import sys; sys.path.insert(0, "bench"); from stack import postgres_base_url; sys.exit(0 if postgres_base_url() else 1)'; then
  "$PY" bench/chaos.py --db postgresql "$@"
else
  echo "postgresql: no server (set VIGIE_LOAD_POSTGRES_URL); skipped"
fi
