"""Fill (proceed) throughput with four rate providers configured, as a ratio to the same gateway with fixed rates.

Two gateway processes (API role) on one database: one quotes from COINVOICE_FIXED_RATES, the other from the
rate cache that a refresher in this process fills from stand-ins of Kraken, Binance, Coinbase and CoinGecko
on 127.0.0.1 (tests/support/rate_standins.py). Each has its own merchant (fills of one merchant queue on its
wallet's derivation counter). In every round both are driven at the same time for the same window, so that
whatever else the machine does hits both alike; the ratio of their fill counts is the round's ratio, and the
median of the rounds is printed. The stand-ins must see no request while fills run.
Run: .venv/bin/python -m bench.rates_bench [--seconds S] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid

import aiohttp
from bip_utils import Bip32KeyNetVersions, Bip32Slip10Secp256k1, Bip39SeedGenerator

from bench.common import closed_loop, free_port, fresh_database, server_process
from coinvoice.config import load_settings
from coinvoice.db.pool import create_pool
from coinvoice.netfees.registry import fee_estimators
from coinvoice.rates.providers import network_providers
from coinvoice.rates.refresh import RateRefresher
from coinvoice.rates.service import RELOAD_SECONDS, RateService
from coinvoice.services.companies import create_company, set_assets, set_wallet
from tests.conftest import TPUB
from tests.support.rate_standins import StandIns

FIXED_ENV = {
    "COINVOICE_MASTER_KEY": "bench",
    "COINVOICE_LTC_NETWORK": "regtest",
    "COINVOICE_FIXED_RATES": json.dumps({"eur/ltc": "0.0127"}),
}
BODY = json.dumps({"invoiceCurrency": "eur", "items": [{"name": "Coffee", "price": "10.99"}]})
CONCURRENCY = 8  # clients per side
PROCEED = json.dumps({"clientEmail": "payer@example.com", "paymentCurrency": "ltc"})


def market_env(standins: StandIns) -> dict[str, str]:
    return {
        **FIXED_ENV,
        "COINVOICE_RATES_PROVIDERS": "kraken,binance,coinbase,coingecko",
        "COINVOICE_RATES_TIMEOUT_SECONDS": "2",
        **standins.env(),
    }


async def create_invoices(base: str, token: str, count: int) -> list[str]:
    ids: list[str] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def create(session: aiohttp.ClientSession, _: int) -> None:
        async with session.post(f"{base}/api/invoices/v1/regular", data=BODY, headers=headers) as r:
            assert r.status == 201, await r.text()
            ids.append((await r.json())["id"])

    await closed_loop(create, count)
    return ids


async def fills_within(base: str, ids: list[str], seconds: float, expect_sources: int) -> int:
    """How many of ``ids`` CONCURRENCY clients fill within ``seconds``."""
    pending = iter(ids)
    done = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:

        async def client() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                invoice_id = next(pending, None)
                assert invoice_id is not None, "not enough invoices for the window: raise --invoices"
                url = f"{base}/api/invoices/v1/regular/{invoice_id}/proceed"
                async with session.post(url, data=PROCEED, headers={"Content-Type": "application/json"}) as r:
                    assert r.status == 200, await r.text()
                    details = (await r.json())["paymentDetails"]
                    assert len(details["rateSources"]) == expect_sources, details
                done += 1

        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return done


def second_tpub() -> str:
    """Another account (m/84'/1'/1') of the test mnemonic: the market merchant's own addresses."""
    versions = Bip32KeyNetVersions(bytes.fromhex("043587cf"), bytes.fromhex("04358394"))
    seed = Bip39SeedGenerator("abandon " * 11 + "about").Generate()
    return Bip32Slip10Secp256k1.FromSeedAndPath(seed, "m/84'/1'/1'", versions).PublicKey().ToExtended()


async def merchant(pool, settings, name: str, tpub: str) -> str:
    company = await create_company(pool, settings, name, None, None)
    await set_wallet(pool, settings, uuid.UUID(company["id"]), "litecoin", tpub)
    await set_assets(pool, uuid.UUID(company["id"]), {"ltc": True})
    return company["publicToken"]


async def run(seconds: float, rounds: int, invoices: int | None, control: bool = False) -> dict[str, list[float]]:
    standins = StandIns()
    await standins.start()
    counts: dict[str, list[float]] = {"market": [], "fixed": []}
    try:
        async with fresh_database() as dsn:
            env = market_env(standins)
            settings = load_settings({**env, "COINVOICE_DATA_DIR": tempfile.mkdtemp()})
            pool = await create_pool(dsn, min_size=1, max_size=2)
            tokens = {"fixed": await merchant(pool, settings, "Fixed", TPUB)}
            tokens["market"] = await merchant(pool, settings, "Market", second_tpub())
            ports = {"fixed": free_port(), "market": free_port()}
            bases = {side: f"http://127.0.0.1:{port}" for side, port in ports.items()}
            gateway = ["-m", "bench.gateway_app", "--dsn", dsn, "--port"]
            fixed_gw = server_process([*gateway, str(ports["fixed"])], ports["fixed"], FIXED_ENV)
            market_env_used = FIXED_ENV if control else env  # --control: fixed against fixed, to show the noise
            market_gw = server_process([*gateway, str(ports["market"])], ports["market"], market_env_used)
            sources = {"fixed": 1, "market": 1 if control else 4}
            async with aiohttp.ClientSession() as http, fixed_gw, market_gw:
                # what a worker process does every 30 s; the market gateway reads the result from PostgreSQL
                refresher = RateRefresher(
                    settings,
                    pool,
                    http,
                    RateService(settings),
                    network_providers(settings),
                    fee_estimators(settings, http),
                )
                per_round = 400  # round 0 warms up connections, prepared statements and caches, and calibrates
                for i in range(rounds + 1):
                    ids = {side: await create_invoices(bases[side], tokens[side], per_round) for side in bases}
                    await refresher.run()
                    await asyncio.sleep(RELOAD_SECONDS + 0.1)  # the gateway's copy of the cache is reloaded
                    calls = standins.request_count
                    window = seconds if i else 1.0
                    fixed, market = await asyncio.gather(
                        *(fills_within(bases[side], ids[side], window, sources[side]) for side in ("fixed", "market"))
                    )
                    assert standins.request_count == calls, "a fill called a rate provider"
                    if i:
                        counts["fixed"].append(fixed / window)
                        counts["market"].append(market / window)
                    else:  # enough invoices for twice the warm-up's pace over a whole window
                        per_round = invoices or int(max(fixed, market) / window * seconds * 2) + 200
                await refresher.close()
            await pool.close()
    finally:
        await standins.stop()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each round's window")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--invoices", type=int, help="invoices created per side and round (default: from the warm-up)")
    parser.add_argument("--control", action="store_true", help="both sides with fixed rates: the ratio noise alone")
    args = parser.parse_args()
    counts = asyncio.run(run(args.seconds, args.rounds, args.invoices, args.control))
    ratios = [m / f for m, f in zip(counts["market"], counts["fixed"], strict=True)]
    print(
        ("control, fixed rates on both sides: " if args.control else "")
        + f"fill with 4 providers: {statistics.median(counts['market']):.0f} fills/s, "
        f"with fixed rates: {statistics.median(counts['fixed']):.0f} fills/s, "
        f"ratio {statistics.median(ratios):.2f} (median of {len(ratios)} rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
    )


if __name__ == "__main__":
    main()
