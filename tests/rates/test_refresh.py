"""The refresh job against the four stand-ins and real PostgreSQL: the cache, outages, bad prices, one leader."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry

from coinvoice.config import RATE_CURRENCIES, load_settings
from coinvoice.domain.assets import COMPANY_ASSETS, INVOICE_CURRENCIES, UNSUPPORTED_ASSETS
from coinvoice.domain.errors import Unavailable
from coinvoice.domain.rates import significant
from coinvoice.rates.metrics import RateMetrics
from coinvoice.rates.service import RateService
from tests.rates.conftest import make_refresher

D = Decimal
PAYMENT_SIDE = [a for a in COMPANY_ASSETS if a not in UNSUPPORTED_ASSETS]


@pytest.fixture
def service(market_settings):
    return RateService(market_settings)


@pytest.fixture
async def refresher(market_settings, pool, http, service):
    refresher = make_refresher(market_settings, pool, http, service)
    yield refresher
    await refresher.close()


async def cached(pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT provider, count(*) AS n FROM rate_observations GROUP BY provider")
    return {r["provider"]: r["n"] for r in rows}


async def test_a_refresh_caches_every_providers_prices_in_postgresql(refresher, pool, standins):
    await refresher.run()
    assert await cached(pool) == {"kraken": 13, "binance": 10, "coinbase": 11, "coingecko": 20}
    assert all(len(s.requests) == 1 for s in standins.by_name.values())


async def test_the_rate_is_the_median_of_the_four_sources(refresher, service):
    await refresher.run()
    rate = service.rate("eur", "ltc")
    by_source = {s.source: s for s in rate.sources}
    assert set(by_source) == {"kraken", "binance", "coinbase", "coingecko"}
    assert by_source["kraken"].rate == significant(1 / D("78.72"))  # kraken's direct LTCEUR, inverted
    assert (by_source["kraken"].via, by_source["binance"].via, by_source["coinbase"].via) == (None, "usdt", "usd")
    middle = sorted(s.rate for s in rate.sources)[1:3]
    assert rate.value == pytest.approx((middle[0] + middle[1]) / 2, rel=D("1e-17"))


async def test_every_invoice_currency_has_a_rate_to_every_payment_asset_from_two_or_more_sources(refresher, service):
    await refresher.run()
    for base in INVOICE_CURRENCIES:
        for quote in PAYMENT_SIDE:
            rate = service.rate(base, quote)
            assert rate.value > 0
            if base != quote:
                assert len(rate.sources) >= 2, (base, quote, rate.sources)
    assert set(INVOICE_CURRENCIES) | set(PAYMENT_SIDE) == set(RATE_CURRENCIES)


async def test_eur_to_trx_is_a_cross_rate_and_usd_pairs_never_come_from_usdt_quotes(refresher, service):
    await refresher.run()
    trx = service.rate("eur", "trx")
    assert {s.source: s.via for s in trx.sources} == {
        "kraken": "usd",
        "binance": "usdt",
        "coinbase": "usd",
        "coingecko": None,
    }
    usd = service.rate("usd", "ltc")
    assert "binance" not in {s.source for s in usd.sources}  # usdt is not usd unless the merchant pegs it


async def test_with_a_usdt_peg_binance_counts_for_usd_pairs(market_env, pool, http):
    settings = load_settings({**market_env, "COINVOICE_RATES_PEGS": '{"usdt": "usd"}'})
    service = RateService(settings)
    refresher = make_refresher(settings, pool, http, service)
    try:
        await refresher.run()
    finally:
        await refresher.close()
    assert "binance" in {s.source for s in service.rate("usd", "ltc").sources}
    assert service.rate("usd", "usdt").value == 1
    assert [s.source for s in service.rate("usd", "usdt").sources] == ["peg"]


async def test_one_provider_down_leaves_the_others_and_is_logged_once_then_its_recovery_once(
    market_settings, pool, http, service, standins, caplog
):
    metrics = RateMetrics(CollectorRegistry())
    refresher = make_refresher(market_settings, pool, http, service, metrics)
    standins["kraken"].behaviour = "down"
    caplog.set_level(logging.INFO, logger="coinvoice.rates.refresh")
    try:
        for _ in range(3):
            await refresher.run()
        assert {s.source for s in service.rate("eur", "ltc").sources} == {"binance", "coinbase", "coingecko"}
        standins["kraken"].behaviour = "ok"
        await refresher.run()
        await refresher.run()
    finally:
        await refresher.close()
    lines = [r.getMessage() for r in caplog.records if "kraken" in r.getMessage()]
    assert len(lines) == 2, lines
    assert lines[0].startswith("rate provider kraken unavailable: http_503")
    assert lines[1] == "rate provider kraken available again after 3 failed refresh(es)"
    assert metrics.failures.labels("kraken", "http_503")._value.get() == 3
    assert metrics.successes.labels("kraken")._value.get() == 2
    assert metrics.successes.labels("coinbase")._value.get() == 5


@pytest.mark.parametrize("behaviour", ["garbage", "html", "timeout"])
async def test_a_provider_answering_garbage_html_or_nothing_is_left_out(refresher, service, standins, behaviour):
    standins["binance"].behaviour = behaviour
    await refresher.run()
    assert {s.source for s in service.rate("eur", "ltc").sources} == {"kraken", "coinbase", "coingecko"}


async def test_a_zero_price_is_never_stored_or_used(refresher, service, pool, standins, caplog):
    standins["kraken"].set_price("XLTCZEUR", "0.00000")
    await refresher.run()
    await refresher.run()
    rows = await pool.fetch("SELECT base, quote FROM rate_observations WHERE provider = 'kraken'")
    assert ("ltc", "eur") not in {(r["base"], r["quote"]) for r in rows}
    kraken = next(s for s in service.rate("eur", "ltc").sources if s.source == "kraken")
    assert kraken.via == "usd"  # without its LTCEUR price kraken crosses through its LTCUSD
    warnings = [r.getMessage() for r in caplog.records if "ltc/eur price" in r.getMessage()]
    assert warnings == ["rate provider kraken: ltc/eur price 0.00000 ignored (not a positive finite number)"]


async def test_a_far_off_provider_is_left_out_of_the_median(refresher, service, standins):
    standins["coinbase"].scale_prices(0.8, ["LTC"])  # coinbase says ltc is 25 % dearer
    await refresher.run()
    rate = service.rate("eur", "ltc")
    assert {s.source for s in rate.sources} == {"kraken", "binance", "coingecko"}
    assert rate.value == sorted(s.rate for s in rate.sources)[1]


async def test_an_absurd_jump_from_the_last_good_price_is_ignored(refresher, service, pool, standins):
    await refresher.run()
    standins["coingecko"].set_price("litecoin.usd", 8503.0)  # a hundred times the last good one
    await refresher.run()
    stored = await pool.fetchval(
        "SELECT rate FROM rate_observations WHERE provider = 'coingecko' AND base = 'ltc' AND quote = 'usd'"
    )
    assert stored == D("85.03")
    assert service.rate("usd", "ltc").value == pytest.approx(1 / D("85.02"), rel=D("0.001"))


async def test_coingecko_prices_older_than_the_limit_are_stale(refresher, service, standins):
    standins["coingecko"].updated_seconds_ago = 400  # older than COINVOICE_RATES_MAX_AGE_SECONDS (300)
    await refresher.run()
    assert "coingecko" not in {s.source for s in service.rate("eur", "ltc").sources}


async def test_when_every_source_is_stale_there_is_no_rate(refresher, service, pool):
    await refresher.run()
    await pool.execute("UPDATE rate_observations SET observed_at = now() - interval '301 seconds'")
    service._loaded_at = None  # reload now rather than in RELOAD_SECONDS
    await service.ready(pool)
    with pytest.raises(Unavailable, match=r"no fresh rate for eur/ltc: 0 fresh source\(s\) of the 2 required") as e:
        service.rate("eur", "ltc")
    assert (e.value.code, e.value.field) == ("rate_unavailable", "paymentCurrency")


async def test_fewer_fresh_sources_than_the_minimum_is_no_rate(market_env, pool, http, standins):
    settings = load_settings({**market_env, "COINVOICE_RATES_MIN_SOURCES": "4"})
    service = RateService(settings)
    refresher = make_refresher(settings, pool, http, service)
    standins["binance"].behaviour = "down"
    try:
        await refresher.run()
    finally:
        await refresher.close()
    with pytest.raises(Unavailable, match="3 fresh source"):
        service.rate("eur", "ltc")


async def test_only_one_refresher_of_a_deployment_leads(market_settings, pool, http, standins):
    first = make_refresher(market_settings, pool, http, RateService(market_settings))
    second = make_refresher(market_settings, pool, http, RateService(market_settings))
    try:
        await first.run()
        await second.run()
        await first.run()
        assert (first.is_leader, second.is_leader) == (True, False)
        assert all(len(s.requests) == 2 for s in standins.by_name.values())
        await first.close()
        await second.run()  # the lock is free again: the second takes over
        assert second.is_leader
        assert all(len(s.requests) == 3 for s in standins.by_name.values())
    finally:
        await first.close()
        await second.close()


async def test_a_replica_reads_the_same_rates_from_postgresql(market_settings, refresher, service, pool, standins):
    await refresher.run()
    await standins.stop()
    replica = RateService(market_settings)  # another process: no refresher, only the database
    await replica.ready(pool)
    now = datetime.now(UTC)
    assert replica.rate("eur", "ltc", now=now) == service.rate("eur", "ltc", now=now)
    assert replica.age_seconds("kraken", now) < 5
    assert now - timedelta(seconds=5) < max(s.observed_at for s in replica.rate("eur", "ltc").sources) <= now
