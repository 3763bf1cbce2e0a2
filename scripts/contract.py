"""The API contract check: a real gateway (`coinvoice serve`) on a fresh PostgreSQL database, and schemathesis
against its /api/openapi.json. Fails on any server error or any answer that does not conform to the document.

Bounded and reproducible: a fixed seed, deterministic generation, a few examples per operation.
Usage: .venv/bin/python scripts/contract.py [extra schemathesis arguments]
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coinvoice.config import RATE_CURRENCIES, load_settings  # noqa: E402
from coinvoice.db.pool import create_pool  # noqa: E402
from coinvoice.services.companies import create_company, set_assets, set_wallet  # noqa: E402
from tests.conftest import TEST_ENV, TPUB  # noqa: E402
from tests.support import database  # noqa: E402

EXAMPLES = os.environ.get("COINVOICE_CONTRACT_EXAMPLES", "25")


def every_pair_rates() -> str:
    """Fixed rates that price every pair (each through eur): a 503 rate_unavailable would read as a server error."""
    rates = json.loads(TEST_ENV["COINVOICE_FIXED_RATES"])
    for n, currency in enumerate(c for c in RATE_CURRENCIES if c != "eur"):
        rates.setdefault(f"eur/{currency}", str(Decimal("1.5") + n))
    return json.dumps(rates)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare(env: dict[str, str]) -> tuple[str, str, str]:
    """A fresh migrated database with one company that takes ltc: (server url, database name, public token)."""
    url = database.server_url()
    template = await database.create_template(url)
    name = await database.create_from_template(url, template)
    await database.drop_database(url, template)
    settings = load_settings(env)
    pool = await create_pool(database.with_database(url, name), min_size=1, max_size=2)
    try:
        company = await create_company(pool, settings, "Contract shop", None, None)
        company_id = uuid.UUID(company["id"])
        await set_wallet(pool, settings, company_id, "litecoin", TPUB)
        await set_assets(pool, company_id, {"ltc": True})
    finally:
        await pool.close()
    return url, name, company["publicToken"]


def main(extra: list[str]) -> int:
    data_dir = ROOT / ".data" / "contract"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **TEST_ENV,
        "COINVOICE_DATA_DIR": str(data_dir),
        "COINVOICE_WEBHOOK_ALLOW_PRIVATE": "false",
        "COINVOICE_FIXED_RATES": every_pair_rates(),
    }
    url, name, token = asyncio.run(prepare(env))
    port = free_port()
    server_env = {
        **os.environ,
        **env,
        "DATABASE_URL": database.with_database(url, name),
        "COINVOICE_HOST": "127.0.0.1",
        "COINVOICE_PORT": str(port),
    }
    log = open(data_dir / "gateway.log", "w")
    gateway = subprocess.Popen(
        [sys.executable, "-m", "coinvoice.cli", "serve", "--role", "api"], env=server_env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if gateway.poll() is not None or time.monotonic() > deadline:
                    print((data_dir / "gateway.log").read_text(), file=sys.stderr)
                    return 1
                time.sleep(0.3)
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{base}/api/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance",
            "--max-examples",
            EXAMPLES,
            "--seed",
            "12",
            "--generation-deterministic",
            "--header",
            f"Authorization: Bearer {token}",
            "--request-timeout",
            "20",
            "--workers",
            "1",
            *extra,
        ]
        result = subprocess.run(command, check=False)
        lines = (data_dir / "gateway.log").read_text().splitlines()
        server_errors = [
            line for line in lines if "unhandled error" in line or re.search(r'HTTP/1\.[01]" 5\d\d ', line)
        ]
        if server_errors:
            print(f"the gateway answered {len(server_errors)} server error(s): see {data_dir / 'gateway.log'}")
            return 1
        print(f"contract: {sum('schemathesis/' in line for line in lines)} requests, 0 server errors")
        return result.returncode
    finally:
        gateway.terminate()
        try:
            gateway.wait(20)
        except subprocess.TimeoutExpired:
            gateway.kill()
        log.close()
        asyncio.run(database.drop_database(url, name))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
