"""Fills over real HTTP quoting from the market rate cache: provenance, no provider call, 503s, spread, fees."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from decimal import Decimal

import pytest

from coinvoice.appkeys import RATES
from coinvoice.domain.money import fmt
from coinvoice.domain.network_fees import FALLBACK_NETWORK_FEES
from coinvoice.services.companies import set_assets, set_wallet
from tests.api.invoice_setup import assert_error, row_counts, sql
from tests.rates.conftest import CREATE, tron_or_eth_xpub

D = Decimal


async def test_a_fill_freezes_the_median_rate_and_records_its_sources(start_gateway, db_url):
    gateway = await start_gateway()
    await gateway.refresh()
    invoice = await gateway.invoice("eur", "100")
    status, view = await gateway.fill(invoice["id"], "ltc")
    assert status == 200, view
    details = view["paymentDetails"]
    sources = details["rateSources"]
    assert sorted(s["source"] for s in sources) == ["binance", "coinbase", "coingecko", "kraken"]
    assert all(set(s) == {"source", "rate", "at", "via"} and s["at"].endswith("Z") for s in sources)
    rates = sorted(D(s["rate"]) for s in sources)
    assert D(details["rate"]) == pytest.approx((rates[1] + rates[2]) / 2, rel=D("1e-17"))
    query = "SELECT rate, rate_source, rate_sources FROM quotes WHERE invoice_id = $1"
    row = (await sql(db_url, query, invoice["id"]))[0]
    assert json.loads(row["rate_sources"]) == sources
    assert fmt(row["rate"]) == details["rate"]
    assert row["rate_source"] == "median:" + ",".join(s["source"] for s in sources)
    status, again = await gateway.api.call("GET", f"{CREATE}/{invoice['id']}")
    assert again["paymentDetails"]["rateSources"] == sources


async def test_fills_never_call_a_provider_and_still_succeed_with_every_stand_in_stopped(
    start_gateway, standins, db_url
):
    gateway = await start_gateway()
    await gateway.refresh()
    requests_after_refresh = standins.request_count
    invoices = [await gateway.invoice() for _ in range(5)]
    await standins.stop()
    results = await asyncio.gather(*(gateway.fill(inv["id"]) for inv in invoices))
    assert [status for status, _ in results] == [200] * 5, results
    assert standins.request_count == requests_after_refresh
    # and an API replica that never refreshed quotes the same rate from PostgreSQL alone
    replica = await start_gateway()
    status, view = await replica.fill((await replica.invoice())["id"])
    assert status == 200, view
    assert view["paymentDetails"]["rate"] == results[0][1]["paymentDetails"]["rate"]
    assert standins.request_count == requests_after_refresh


async def test_stale_rates_refuse_the_fill_with_a_503_and_write_nothing(start_gateway, db_url, pool):
    gateway = await start_gateway()
    await gateway.refresh()
    invoice = await gateway.invoice()
    await pool.execute("UPDATE rate_observations SET observed_at = now() - interval '6 minutes'")
    gateway.app[RATES]._loaded_at = None  # as if RELOAD_SECONDS had passed
    before = await row_counts(db_url)
    status, body = await gateway.fill(invoice["id"])
    assert_error(status, body, 503, "rate_unavailable", "paymentCurrency")
    assert body["error"]["message"].startswith("no fresh rate for eur/ltc: 0 fresh source(s) of the 2 required")
    assert await row_counts(db_url) == before
    index = await sql(db_url, "SELECT next_index FROM company_wallets WHERE chain = 'litecoin'")
    assert index[0]["next_index"] == 0
    _, view = await gateway.api.call("GET", f"{CREATE}/{invoice['id']}")
    assert view["status"] == "created"


async def test_no_refresh_yet_means_a_503_not_a_guess(start_gateway, db_url):
    gateway = await start_gateway()
    invoice = await gateway.invoice()
    before = await row_counts(db_url)
    status, body = await gateway.fill(invoice["id"])
    assert_error(status, body, 503, "rate_unavailable", "paymentCurrency")
    assert await row_counts(db_url) == before


async def test_a_fill_does_not_wait_for_a_slow_provider(start_gateway, standins):
    gateway = await start_gateway()
    await gateway.refresh()
    standins["kraken"].behaviour = "timeout"
    refreshing = asyncio.create_task(gateway.refresh())  # holds a refresh on kraken's 2 s timeout
    await asyncio.sleep(0.05)
    started = time.monotonic()
    status, view = await gateway.fill((await gateway.invoice())["id"])
    assert status == 200, view
    assert time.monotonic() - started < 0.4
    await refreshing


async def test_eur_to_trx_is_quoted_through_cross_rates(start_gateway):
    gateway = await start_gateway()
    await gateway.refresh()
    status, view = await gateway.fill((await gateway.invoice("eur", "54"))["id"], "trx")
    assert status == 200, view
    vias = {s["source"]: s["via"] for s in view["paymentDetails"]["rateSources"]}
    assert vias == {"kraken": "usd", "binance": "usdt", "coinbase": "usd", "coingecko": None}
    assert D(view["paymentDetails"]["rate"]) == pytest.approx(D(9), rel=D("0.01"))  # 1 eur ~ 1.08 usd ~ 9 trx


async def test_a_spread_raises_the_rate_by_its_percent_for_that_asset_only(start_gateway):
    plain = await start_gateway()
    await plain.refresh()
    spread = await start_gateway(COINVOICE_RATES_SPREAD_PERCENT='{"ltc": "2"}')
    await spread.app[RATES].ready(spread.refresher._pool)
    _, base = await plain.fill((await plain.invoice())["id"], "ltc")
    _, marked = await spread.fill((await spread.invoice())["id"], "ltc")
    assert D(marked["paymentDetails"]["rate"]) == pytest.approx(D(base["paymentDetails"]["rate"]) * D("1.02"))
    assert marked["paymentDetails"]["rateSources"] == base["paymentDetails"]["rateSources"]
    _, trx_plain = await plain.fill((await plain.invoice())["id"], "trx")
    _, trx_spread = await spread.fill((await spread.invoice())["id"], "trx")
    assert trx_plain["paymentDetails"]["rate"] == trx_spread["paymentDetails"]["rate"]


async def test_a_token_payers_network_fee_is_the_native_fallback_converted_at_the_market_rate(start_gateway):
    gateway = await start_gateway()
    await gateway.refresh()
    status, view = await gateway.fill((await gateway.invoice("usd", "100"))["id"], "trc20usdt")
    assert status == 200, view
    details = view["paymentDetails"]
    trx_in_usdt = gateway.app[RATES].rate("trx", "usdt").value
    expected = FALLBACK_NETWORK_FEES["trc20usdt"] * trx_in_usdt  # 14 trx at ~0.12 usdt
    assert D(details["networkFee"]) == pytest.approx(expected, abs=D("0.000001"))
    service = D(details["amount"]) - D(details["invoiceFee"])  # the converted total
    assert D(details["invoiceFee"]) == pytest.approx(service / 100 + D(details["networkFee"]), abs=D("0.000002"))


async def test_the_network_fee_is_capped(start_gateway):
    gateway = await start_gateway(COINVOICE_NETWORK_FEE_MAX_PERCENT="0.5")
    await gateway.refresh()
    status, view = await gateway.fill((await gateway.invoice("usd", "10"))["id"], "trc20usdt")  # ~1.7 usdt of fees
    assert status == 200, view
    details = view["paymentDetails"]
    converted = D(details["amount"]) - D(details["invoiceFee"])
    assert D(details["networkFee"]) == pytest.approx(converted * D("0.005"), abs=D("0.000001"))


async def test_network_fees_can_be_turned_off(start_gateway):
    gateway = await start_gateway(COINVOICE_NETWORK_FEE_MAX_PERCENT="0")
    await gateway.refresh()
    _, view = await gateway.fill((await gateway.invoice())["id"], "ltc")
    assert view["paymentDetails"]["networkFee"] == "0"


async def test_without_a_rate_for_the_fee_coin_the_sale_goes_ahead_without_the_network_fee(
    api, company, settings, pool, caplog
):
    """Fixed rates with usd/usdt but no trx rate: 14 trx of fees cannot be priced in usdt."""
    company_id = uuid.UUID(company["id"])
    await set_wallet(pool, settings, company_id, "tron", tron_or_eth_xpub("tron"))
    await set_assets(pool, company_id, {"usdt": True})
    body = {"invoiceCurrency": "usd", "items": [{"name": "Coffee", "price": "20"}]}
    for _ in range(2):
        _, invoice = await api.call("POST", CREATE, token=company["publicToken"], json_body=body)
        proceed = {"clientEmail": "payer@example.com", "paymentCurrency": "trc20usdt"}
        status, view = await api.call("POST", f"{CREATE}/{invoice['id']}/proceed", json_body=proceed)
        assert status == 200, view
        assert (view["paymentDetails"]["networkFee"], view["paymentDetails"]["invoiceFee"]) == ("0", "0.2")
    source = await pool.fetchval(
        "SELECT network_fee_source FROM quotes WHERE invoice_id = $1", uuid.UUID(invoice["id"])
    )
    assert source.startswith("not charged: no fresh rate for trx/usdt")
    warnings = [r.getMessage() for r in caplog.records if "network fees of trc20usdt" in r.getMessage()]
    assert len(warnings) == 1
