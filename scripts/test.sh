#!/usr/bin/env bash
# Runs the whole test suite on real PostgreSQL (DATABASE_URL or embedded), a real litecoind regtest node
# and Debian's Chromium. Installs everything it needs first. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/ruff check src tests bench
.venv/bin/lint-imports
.venv/bin/mypy
# docker-compose.yml parses and resolves (Debian's docker-compose needs no daemon for this)
if docker compose version >/dev/null 2>&1; then docker compose config -q; else docker-compose config -q; fi
# the API contract (schemathesis against a running gateway) runs inside pytest: tests/api/test_contract.py
# the soak measures latency: alone first, since beside another test worker p99 measures the neighbour
.venv/bin/pytest -q -m soak tests/ops/test_soak.py
.venv/bin/pytest -n 2 -q -m "not soak" "$@"
