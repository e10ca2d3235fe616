#!/usr/bin/env bash
# `make run`: the whole stack on this machine, from a fresh clone.
#   SQLite under $VIGIE_DATA_DIR (default ./var), Redis from $VIGIE_REDIS_URL or a private
#   redis-server (AOF on, files in the data dir, free port), the API under gunicorn on
#   $VIGIE_PORT (default 8000), one RQ worker with its sweeper, a demo key and demo data.
# Ctrl-C stops everything. Two stacks run side by side with different VIGIE_PORT/VIGIE_DATA_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
PY=$BIN/python

export VIGIE_PORT=${VIGIE_PORT:-8000}
DATA_DIR=${VIGIE_DATA_DIR:-$ROOT/var}
mkdir -p "$DATA_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
export VIGIE_DATA_DIR=$DATA_DIR
LOGS=$DATA_DIR/logs
mkdir -p "$LOGS"
API_URL="http://127.0.0.1:$VIGIE_PORT"

PIDS=()
STOPPING=0
stop_all() {
  [ "$STOPPING" = 1 ] && return
  STOPPING=1
  echo
  echo "stopping: ${PIDS[*]:-nothing}"
  # Each child leads its own session and process group (setsid): signal the whole group, then wait.
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT
# Children run under setsid: their own process group, away from the terminal, so Ctrl-C reaches
# them only through stop_all (an orderly SIGTERM), never half-way through start-up. (`set -m`
# would do it too, but a non-interactive shell with job control can hand the terminal to a
# finished job's group, and Ctrl-C then reaches nobody.)

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_busy() { "$PY" -c "import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(('127.0.0.1', $1)) == 0 else 1)"; }
wait_http() {  # url seconds
  "$PY" - "$1" "$2" <<'PYEOF'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(1)
PYEOF
}

if port_busy "$VIGIE_PORT"; then
  echo "port $VIGIE_PORT is already in use: set VIGIE_PORT (and VIGIE_DATA_DIR) to run another stack" >&2
  exit 1
fi

# --- Redis -------------------------------------------------------------------------------------
if [ -n "${VIGIE_REDIS_URL:-}" ]; then
  echo "redis:    $VIGIE_REDIS_URL (from VIGIE_REDIS_URL)"
else
  bash scripts/ensure_redis.sh
  REDIS_PORT=$(free_port)
  mkdir -p "$DATA_DIR/redis"
  # appendonly: acknowledged jobs survive a Redis crash (fsync every second).
  setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DATA_DIR/redis" \
    --appendonly yes --appendfsync everysec --save "" --logfile "$LOGS/redis.log" &
  PIDS+=($!)
  export VIGIE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  for _ in $(seq 50); do
    "$PY" -c "import redis,sys; redis.Redis.from_url('$VIGIE_REDIS_URL').ping()" 2>/dev/null && break
    sleep 0.1
  done
  echo "redis:    $VIGIE_REDIS_URL (private, files in $DATA_DIR/redis)"
fi

# --- database, API, worker ---------------------------------------------------------------------
"$BIN/vigie" db migrate
setsid "$BIN/vigie" serve --port "$VIGIE_PORT" >"$LOGS/api.log" 2>&1 &
PIDS+=($!)
setsid "$BIN/vigie" worker >"$LOGS/worker.log" 2>&1 &
PIDS+=($!)

if ! wait_http "$API_URL/healthz" 30; then
  echo "the API did not start; see $LOGS/api.log" >&2
  tail -n 20 "$LOGS/api.log" >&2 || true
  exit 1
fi

KEY=$("$BIN/vigie" keys create --name "demo-$(date +%Y%m%d-%H%M%S)" --scopes submit,read,moderate,admin 2>/dev/null | tail -n 1)
"$BIN/vigie" demo load --url "$API_URL" --key "$KEY" || echo "demo data could not be loaded (see above)" >&2

# A demo moderator for the console, created once per data dir (its password is kept there, 0600).
CONSOLE_LOGIN=""
if "$BIN/vigie" moderators --help >/dev/null 2>&1; then
  MOD_FILE=$DATA_DIR/demo-moderator.txt
  if [ ! -s "$MOD_FILE" ]; then
    MOD_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')
    if "$BIN/vigie" moderators create --email demo-moderator@vigie.invalid --name "Demo moderator" --senior \
        --password "$MOD_PASSWORD" >/dev/null 2>&1; then
      (umask 077; echo "$MOD_PASSWORD" >"$MOD_FILE")
    fi
  fi
  [ -s "$MOD_FILE" ] && CONSOLE_LOGIN="demo-moderator@vigie.invalid / $(cat "$MOD_FILE")"
fi

cat <<EOT

Vigie is running (data in $DATA_DIR, logs in $LOGS)
  API      $API_URL
  docs     $API_URL/docs
  OpenAPI  $API_URL/openapi.json
  metrics  $API_URL/metrics
  ready    $API_URL/readyz
  console  $API_URL/console/${CONSOLE_LOGIN:+  (log in as $CONSOLE_LOGIN)}

Demo API key (scopes submit,read,moderate,admin):
$KEY

Try a scam message, scored synchronously:
  curl -s -X POST '$API_URL/v1/messages?mode=sync' \\
    -H 'Authorization: Bearer $KEY' -H 'Content-Type: application/json' \\
    -d '{"external_id": "demo-$RANDOM", "conversation_id": "demo-conv", "lang": "fr", "text": "Bonjour, je suis intéressé. Je vous paie par PayPal entre amis, contactez moi sur whatsapp au 06 12 34 56 78 ou par mail jean.dupont.achat@gmail.com"}'

Press Ctrl-C to stop.
EOT

# Stay up until Ctrl-C, or until one of the processes exits on its own.
set +e
wait -n "${PIDS[@]}"
status=$?
echo "a process exited (status $status); see $LOGS" >&2
exit "$status"
