#!/usr/bin/env bash
# Runs the gateway (API, payer page and workers). With no DATABASE_URL it starts an embedded PostgreSQL
# under .data/ (COINVOICE_DATA_DIR). Extra arguments go to `coinvoice serve` (e.g. --role api).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/coinvoice serve "$@"
