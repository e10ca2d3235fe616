#!/usr/bin/env bash
# `make test`: everything the suite needs on a fresh machine, then lint, types, layers and pytest.
# Tests start their own redis-server on a free port; PostgreSQL is exercised when
# VIGIE_TEST_POSTGRES_URL is set (CI sets it), SQLite always.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

bash scripts/ensure_redis.sh
# Browser tests drive Debian's chromium (no browser downloads work here).
if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium not found: installing Debian's chromium with apt-get" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

echo "== lint (ruff), types (mypy), layers (import-linter)"
$BIN/ruff check .
$BIN/ruff format --check .
$BIN/mypy
$BIN/lint-imports

echo "== pytest"
mkdir -p var/test-output
$BIN/pytest "$@"
