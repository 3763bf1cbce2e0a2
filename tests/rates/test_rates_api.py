"""GET /api/rates for shops, the provider metrics on /metrics, and the refresh job scheduled inside a worker."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from coinvoice.app import create_app
from coinvoice.appkeys import JOBS
from coinvoice.config import load_settings
from tests.api.invoice_setup import assert_error
from tests.conftest import Api

D = Decimal


async def test_a_shop_reads_the_rate_a_fill_would_quote_without_a_token(start_gateway):
    gateway = await start_gateway(COINVOICE_RATES_SPREAD_PERCENT='{"ltc": "1"}')
    await gateway.refresh()
    status, body = await gateway.api.call("GET", "/api/rates?from=eur&to=ltc")
    assert status == 200, body
    assert set(body) == {"from", "to", "rate", "spreadPercent", "sources", "updatedAt"}
    assert (body["from"], body["to"], body["spreadPercent"]) == ("eur", "ltc", "1")
    assert sorted(s["source"] for s in body["sources"]) == ["binance", "coinbase", "coingecko", "kraken"]
    _, view = await gateway.fill((await gateway.invoice("eur", "100"))["id"], "ltc")
    assert view["paymentDetails"]["rate"] == body["rate"]
    assert view["paymentDetails"]["rateSources"] == body["sources"]


async def test_the_rate_answer_is_cacheable_and_costs_no_provider_call(start_gateway, standins):
    gateway = await start_gateway()
    await gateway.refresh()
    calls = standins.request_count
    async with gateway.api.session.get(f"{gateway.api.base}/api/rates?from=usd&to=trc20usdt") as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "public, max-age=30"
        body = await response.json()
    assert (body["to"], body["spreadPercent"]) == ("trc20usdt", "0")
    assert D(body["rate"]) == pytest.approx(D(1), rel=D("0.001"))  # a market rate near, not assumed, 1
    assert standins.request_count == calls


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("", "required", "from"),
        ("?from=eur", "required", "to"),
        ("?from=gbp&to=ltc", "unknown_currency", "from"),
        ("?from=eur&to=doge", "unknown_currency", "to"),
        ("?from=eur&to=near", "unknown_currency", "to"),
    ],
)
async def test_bad_rate_queries_are_a_400(start_gateway, query, code, field):
    gateway = await start_gateway()
    status, body = await gateway.api.call("GET", f"/api/rates{query}")
    assert_error(status, body, 400, code, field)


async def test_no_fresh_rate_is_a_503(start_gateway):
    gateway = await start_gateway()
    status, body = await gateway.api.call("GET", "/api/rates?from=eur&to=ltc")
    assert_error(status, body, 503, "rate_unavailable", "to")


async def test_metrics_show_each_providers_successes_failures_latency_and_rate_age(start_gateway, standins):
    gateway = await start_gateway()
    standins["coinbase"].behaviour = "html"
    await gateway.refresh()
    await gateway.refresh()
    status, text = await gateway.api.call("GET", "/metrics")
    assert status == 200
    lines = text.splitlines()
    assert 'coinvoice_rate_provider_successes_total{provider="kraken"} 2.0' in lines
    assert 'coinvoice_rate_provider_successes_total{provider="coinbase"} 0.0' in lines
    assert 'coinvoice_rate_provider_failures_total{provider="coinbase",reason="bad_response"} 2.0' in lines
    assert 'coinvoice_rate_provider_request_seconds_count{provider="binance"} 2.0' in lines
    age = {
        line.split('"')[1]: float(line.split()[-1])
        for line in lines
        if line.startswith("coinvoice_rate_provider_age_seconds{")
    }
    assert age["coingecko"] == pytest.approx(5, abs=2)  # its own update time, 5 s before the answer
    assert 0 <= age["kraken"] < 2
    assert str(age["coinbase"]) == "nan"  # never a good price yet


async def test_a_worker_schedules_the_refresh_and_gives_its_leadership_up_on_shutdown(market_env, db_url, pool):
    settings = load_settings({**market_env, "COINVOICE_RATES_REFRESH_SECONDS": "0.3"})
    app = create_app(settings, dsn=db_url, role="all")
    assert "refresh-rates" in [job.name for job in app[JOBS]]
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        deadline = time.monotonic() + 5
        while await pool.fetchval("SELECT count(DISTINCT provider) FROM rate_observations") < 4:
            assert time.monotonic() < deadline, "the scheduled refresh did not fill the cache"
            await asyncio.sleep(0.05)
        async with aiohttp.ClientSession() as session:
            status, body = await Api(server, session).call("GET", "/api/rates?from=eur&to=btc")
        assert status == 200 and len(body["sources"]) == 4
    finally:
        await server.close()
    held = await pool.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    assert held == 0


async def test_an_api_replica_reports_the_rate_ages_it_reads_from_postgresql(start_gateway):
    worker = await start_gateway()
    await worker.refresh()
    replica = await start_gateway()  # never refreshed, never quoted: /metrics reads the cache itself
    _, text = await replica.api.call("GET", "/metrics")
    ages = [
        line for line in text.splitlines() if line.startswith('coinvoice_rate_provider_age_seconds{provider="kraken"}')
    ]
    assert len(ages) == 1 and 0 <= float(ages[0].split()[-1]) < 5


def test_fixed_rates_alone_need_no_refresh_job(settings):
    app = create_app(settings, role="worker")
    assert "refresh-rates" not in [job.name for job in app[JOBS]]
