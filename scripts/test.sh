#!/usr/bin/env bash
# The whole test suite: lint, type check, then pytest (against SQLite and a real PostgreSQL).
# Called by `make test` after setup; CI runs `make test` through .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

echo "== ruff"
$BIN/ruff check .
$BIN/ruff format --check .
echo "== mypy"
$BIN/mypy

if [ -z "${TOURNAMENT_TEST_PG_URL:-}" ]; then
  if url=$(bash scripts/postgres.sh); then
    export TOURNAMENT_TEST_PG_URL="$url"
  else
    echo "warning: no PostgreSQL available; PostgreSQL tests will be skipped" >&2
  fi
fi

if [ -f scripts/chromium.sh ] && ! bash scripts/chromium.sh; then
  echo "warning: no Chromium available; browser tests will be skipped" >&2
fi

echo "== pytest"
$BIN/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
