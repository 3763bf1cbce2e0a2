"""Crash injection, long setting: the CI test's stream of paid invoices with more SIGKILLs of the worker.

Run: .venv/bin/python -m bench.crash_bench [--kills 100] [--api-kills 10] [--seed N]
Needs litecoind (scripts/setup.sh test) and DATABASE_URL (or the embedded server); everything on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bench.common import litecoin_bench
from coinvoice.db.pool import create_pool
from tests.support.crash_injection import run_crash_injection


async def run(kills: int, api_kills: int, seed: int | None) -> None:
    async with litecoin_bench("coinvoice-crash-") as (node, dsn, settings, workdir):
        pool = await create_pool(dsn, min_size=1, max_size=4)
        try:
            report = await run_crash_injection(
                node,
                dsn,
                pool,
                settings,
                workdir,
                worker_kills=kills,
                api_kills=api_kills,
                seed=seed,
                settle_seconds=300,
            )
        finally:
            await pool.close()
    print("crash injection:", report.line())
    print(json.dumps(report.__dict__))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLs of the worker")
    parser.add_argument("--api-kills", type=int, default=10, help="SIGKILLs of an API process")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    asyncio.run(run(args.kills, args.api_kills, args.seed))


if __name__ == "__main__":
    main()
