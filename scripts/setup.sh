#!/usr/bin/env bash
# Installs what coinvoice needs on a fresh Debian/Ubuntu machine with Python 3.11:
#   scripts/setup.sh          the gateway (virtual environment + Python packages)
#   scripts/setup.sh test     also the test tools: litecoind, chromium, zbar-tools (apt), the test extras
#                             and, from package-lock.json, the anvil EVM node and solcjs (npm, into node_modules/)
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=${1:-}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: apt-get install ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv 2>/dev/null || { apt_install python3-venv; "$python" -m venv .venv; }
fi
extras=""
[ "$want_test" = test ] && extras="[test]"
stamp=".venv/.installed${extras:+-test}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: pip install -e .$extras"
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/pip install -q --disable-pip-version-check -e ".$extras"
  touch "$stamp"
fi

if [ "$want_test" = test ]; then
  apt_install litecoind chromium zbar-tools docker-compose wrk  # docker-compose: `config` checks the file, no daemon; wrk: bench.processes_bench
  # anvil and solcjs: versions pinned in package.json/package-lock.json, installed into node_modules/
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
  fi
  npm_stamp=node_modules/.installed
  # -nt is also true when the stamp does not exist yet
  if [ ! -x node_modules/.bin/anvil ] || [ ! -x node_modules/.bin/solcjs ] || [ package-lock.json -nt "$npm_stamp" ]; then
    echo "setup: npm ci"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    touch "$npm_stamp"
  fi
fi
