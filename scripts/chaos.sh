#!/usr/bin/env bash
# `make chaos`: >= 10,000 submissions, paced over a window of a minute or more, while workers are
# SIGKILLed, Redis restarts twice, the database goes away for seconds twice and the webhook receiver
# fails; exits non-zero if anything accepted is lost or doubled, a webhook event never arrives or a
# fault fell outside the load. SQLite always; PostgreSQL too when one is reachable
# (VIGIE_LOAD_POSTGRES_URL, else VIGIE_TEST_POSTGRES_URL, else the local server). Options go to
# bench/chaos.py: `make chaos ARGS="--target 20000 --rate 150"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure_redis.sh
PY=.venv/bin/python
if [[ -z "${VIGIE_LOAD_POSTGRES_URL:-}" && -n "${VIGIE_TEST_POSTGRES_URL:-}" ]]; then
  export VIGIE_LOAD_POSTGRES_URL="$VIGIE_TEST_POSTGRES_URL"
fi
# The figures depend on how loaded the machine is: say it next to them.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" bench/chaos.py --db sqlite "$@"
echo "load average after sqlite: $(cut -d' ' -f1-3 /proc/loadavg)"
if "$PY" -c 'import sys; sys.path.insert(0, "bench"); from stack import postgres_base_url; sys.exit(0 if postgres_base_url() else 1)'; then
  "$PY" bench/chaos.py --db postgresql "$@"
  echo "load average after postgresql: $(cut -d' ' -f1-3 /proc/loadavg)"
else
  echo "postgresql: no server (set VIGIE_LOAD_POSTGRES_URL); skipped"
fi
