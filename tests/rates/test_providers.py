"""Each provider against its stand-in on 127.0.0.1: the documented request, the documented answer, and failures."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from coinvoice.config import load_settings
from coinvoice.rates.base import ProviderError
from coinvoice.rates.providers import network_providers
from coinvoice.rates.providers.binance import SYMBOLS
from coinvoice.rates.providers.coingecko import COIN_IDS
from coinvoice.rates.providers.kraken import PAIRS

D = Decimal


def provider(market_env, name, **env):
    settings = load_settings({**market_env, "COINVOICE_RATES_PROVIDERS": name, **env})
    (only,) = network_providers(settings)
    return only


def by_pair(observations):
    return {(o.base, o.quote): o.rate for o in observations}


async def test_kraken_asks_for_its_pairs_and_quotes_the_mid_of_bid_and_ask(market_env, standins, http):
    observations = await provider(market_env, "kraken").fetch(http)
    (request,) = standins["kraken"].requests
    assert request["query"]["pair"].split(",") == [name for name, _ in PAIRS.values()]
    rates = by_pair(observations)
    assert len(rates) == len(PAIRS) == 13
    assert rates[("btc", "usd")] == D("67010.0")  # ask 67010.1, bid 67009.9; legacy key XXBTZUSD
    assert rates[("ltc", "eur")] == D("78.72")
    assert rates[("usdt", "usd")] == D("1.00020")  # USDTZUSD: a market price, not an assumed 1
    assert rates[("eur", "usd")] == D("1.08010")  # ZEURZUSD
    assert all(datetime.now(UTC) - o.observed_at < timedelta(seconds=5) for o in observations)


async def test_binance_asks_for_a_json_list_of_symbols_and_quotes_in_usdt(market_env, standins, http):
    observations = await provider(market_env, "binance", COINVOICE_RATES_BINANCE_API_KEY="bk").fetch(http)
    (request,) = standins["binance"].requests
    assert json.loads(request["query"]["symbols"]) == list(SYMBOLS)
    assert request["headers"]["X-MBX-APIKEY"] == "bk"
    rates = by_pair(observations)
    assert rates[("ltc", "usdt")] == D("84.98000000")
    assert rates[("eur", "usdt")] == D("1.07980000")
    assert not any("usd" in pair for pair in rates)  # binance has no us dollar market


async def test_coinbase_reads_one_us_dollar_in_every_currency_we_quote(market_env, standins, http):
    observations = await provider(market_env, "coinbase").fetch(http)
    (request,) = standins["coinbase"].requests
    assert request["query"] == {"currency": "USD"}
    rates = by_pair(observations)
    assert rates[("usd", "ltc")] == D("0.01176332196212210")
    assert rates[("usd", "eur")] == D("0.9259259259259259")
    assert ("usd", "gbp") not in rates and ("usd", "usd") not in rates  # only currencies we quote
    assert len(rates) == 11


async def test_coingecko_asks_for_its_coin_ids_and_keeps_their_update_times(market_env, standins, http):
    standins["coingecko"].updated_seconds_ago = 90
    gecko = provider(market_env, "coingecko", COINVOICE_RATES_COINGECKO_API_KEY="cg")
    observations = await gecko.fetch(http)
    (request,) = standins["coingecko"].requests
    query = request["query"]
    assert query["ids"].split(",") == list(COIN_IDS)
    assert (query["vs_currencies"], query["include_last_updated_at"]) == ("usd,eur", "true")
    assert request["headers"]["x-cg-demo-api-key"] == "cg"
    rates = by_pair(observations)
    assert rates[("ltc", "usd")] == D("85.03")  # a JSON number, read as an exact decimal
    assert rates[("trx", "eur")] == D("0.111115")
    assert ("usdt", "usd") in rates and len(rates) == 20
    ages = {round(time.time() - o.observed_at.timestamp()) for o in observations}
    assert ages <= {90, 91}


@pytest.mark.parametrize("name", ["kraken", "binance", "coinbase", "coingecko"])
@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [("down", "http_503"), ("garbage", "bad_response"), ("html", "bad_response"), ("timeout", "timeout")],
)
async def test_a_misbehaving_provider_is_a_provider_error_with_a_reason(
    market_env, standins, http, name, behaviour, reason
):
    standins[name].behaviour = behaviour
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        await provider(market_env, name).fetch(http)
    assert raised.value.reason == reason
    assert time.monotonic() - started < 5  # the 2 s timeout of the tests, not the stand-in's 30 s


@pytest.mark.parametrize("name", ["kraken", "binance", "coinbase", "coingecko"])
async def test_a_stopped_provider_is_unreachable(market_env, standins, http, name):
    source = provider(market_env, name)
    await standins[name].stop()
    with pytest.raises(ProviderError) as raised:
        await source.fetch(http)
    assert raised.value.reason == "unreachable"


async def test_a_kraken_error_list_is_an_api_error(market_env, standins, http):
    standins["kraken"].answer_with({"error": ["EQuery:Unknown asset pair"]})
    with pytest.raises(ProviderError, match="EQuery:Unknown asset pair") as raised:
        await provider(market_env, "kraken").fetch(http)
    assert raised.value.reason == "api_error"


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("kraken", {"error": [], "result": []}),
        ("binance", {"code": -1121, "msg": "Invalid symbol."}),
        ("coinbase", {"data": {"currency": "EUR", "rates": {"LTC": "0.0125"}}}),
        ("coinbase", {"errors": [{"id": "not_found"}]}),
        ("coingecko", [1, 2]),
    ],
)
async def test_json_of_another_shape_is_a_bad_response(market_env, standins, http, name, body):
    standins[name].answer_with(body)
    with pytest.raises(ProviderError) as raised:
        await provider(market_env, name).fetch(http)
    assert raised.value.reason == "bad_response"


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("kraken", "XLTCZUSD", "0"),
        ("binance", "LTCUSDT", "-1"),
        ("coinbase", "LTC", "NaN"),
        ("coingecko", "litecoin.usd", 0),
    ],
)
async def test_odd_prices_are_passed_on_for_the_refresh_to_judge(market_env, standins, http, name, key, value):
    standins[name].set_price(key, value)
    rates = by_pair(await provider(market_env, name).fetch(http))
    odd = [r for r in rates.values() if not (r.is_finite() and r > 0)]
    assert len(odd) == 1
