"""Settings parsing: rates, fees, expiry and confirmation overrides, networks, and errors naming the variable."""

import json
import stat
from decimal import Decimal

import pytest

from coinvoice.config import ConfigError, load_settings
from coinvoice.domain.fees import FeePolicy


@pytest.fixture
def load(tmp_path):
    def load_with(**env: str):
        return load_settings({"COINVOICE_DATA_DIR": str(tmp_path), "COINVOICE_MASTER_KEY": "k", **env})

    return load_with


def test_defaults_without_any_variable(load):
    s = load()
    assert (s.host, s.port, s.public_url) == ("127.0.0.1", 8080, "http://127.0.0.1:8080")
    assert s.database_url is None
    assert s.rates_providers == ("fixed",)
    assert s.fixed_rates == {}
    assert s.expiry_for("btc") == 120
    assert s.expiry_for("ltc") == s.expiry_for("trc20usdt") == s.expiry_for("eth") == 30
    assert s.fee_for("ltc") == FeePolicy(Decimal(1), Decimal(0))
    assert all(s.chain(name).network == "mainnet" for name in ("bitcoin", "litecoin", "ethereum", "tron"))


def test_host_port_public_url_and_database_url(load):
    s = load(
        DATABASE_URL="postgresql://u@db/x",
        COINVOICE_HOST="0.0.0.0",
        COINVOICE_PORT="9000",
        COINVOICE_PUBLIC_URL="https://pay.example/",
    )
    assert (s.database_url, s.host, s.port, s.public_url) == (
        "postgresql://u@db/x",
        "0.0.0.0",
        9000,
        "https://pay.example",
    )


def test_fixed_rates_parse_as_exact_decimals_with_lowercase_pairs(load):
    s = load(COINVOICE_FIXED_RATES='{"EUR/LTC": "0.0125", "usd/usdt": 1, "usd/btc": 0.1}')
    assert s.fixed_rates == {
        ("eur", "ltc"): Decimal("0.0125"),
        ("usd", "usdt"): Decimal(1),
        ("usd", "btc"): Decimal("0.1"),
    }
    assert all(isinstance(v, Decimal) for v in s.fixed_rates.values())
    assert str(s.fixed_rates[("usd", "btc")]) == "0.1"  # a JSON number is never a float on the way


@pytest.mark.parametrize(
    "value",
    [
        '{"eur/ltc": "0"}',
        '{"eur/ltc": "-1"}',
        '{"eur/ltc": "abc"}',
        '{"eur/ltc": "NaN"}',
        '{"eurltc": "1"}',
        '{"/ltc": "1"}',
        '["eur/ltc"]',
    ],
)
def test_bad_fixed_rates_are_config_errors_naming_the_variable(load, value):
    with pytest.raises(ConfigError, match="COINVOICE_FIXED_RATES"):
        load(COINVOICE_FIXED_RATES=value)


def test_fees_per_asset_fall_back_from_payment_asset_to_asset_to_default(load):
    fees = {
        "default": {"percent": "0.5", "fixed": "0"},
        "BTC": {"percent": 1, "fixed": "0.00001"},
        "usdt": {"percent": "2"},
        "trc20usdt": {"percent": "3", "fixed": "1"},
    }
    s = load(COINVOICE_FEES=json.dumps(fees))
    assert s.fee_for("btc") == FeePolicy(Decimal(1), Decimal("0.00001"))
    assert s.fee_for("ltc") == FeePolicy(Decimal("0.5"), Decimal(0))
    assert s.fee_for("usdterc20") == FeePolicy(Decimal(2), Decimal(0))  # the asset's entry
    assert s.fee_for("trc20usdt") == FeePolicy(Decimal(3), Decimal(1))  # the payment asset's own entry wins


@pytest.mark.parametrize(
    "value",
    ['{"btc": 1}', '{"btc": {"percent": "-1"}}', '{"btc": {"fixed": "x"}}', '{"btc": {"percent": "Infinity"}}', "[]"],
)
def test_bad_fees_are_config_errors_naming_the_variable(load, value):
    with pytest.raises(ConfigError, match="COINVOICE_FEES"):
        load(COINVOICE_FEES=value)


def test_expiry_overrides_keep_the_other_defaults(load):
    s = load(COINVOICE_EXPIRY_MINUTES='{"default": 15, "LTC": 10}')
    assert s.expiry_for("ltc") == 10
    assert s.expiry_for("eth") == 15
    assert s.expiry_for("btc") == 120


def test_confirmation_overrides_keep_the_other_defaults(load):
    defaults = load()
    s = load(COINVOICE_CONFIRMATIONS='{"ltc": 1, "usdt": 3}')
    assert s.confirmations_for("ltc") == 1
    assert s.confirmations_for("trc20usdt") == defaults.confirmations_for("trc20usdt")  # its own default wins
    assert s.confirmations_for("btc") == defaults.confirmations_for("btc")


@pytest.mark.parametrize("name", ["COINVOICE_EXPIRY_MINUTES", "COINVOICE_CONFIRMATIONS"])
@pytest.mark.parametrize("value", ['{"ltc": -1}', '{"ltc": 1.5}', '{"ltc": "30"}', '{"ltc": true}', "[30]", "30"])
def test_bad_whole_number_tables_are_config_errors_naming_the_variable(load, name, value):
    with pytest.raises(ConfigError, match=name):
        load(**{name: value})


@pytest.mark.parametrize(
    "name", ["COINVOICE_FIXED_RATES", "COINVOICE_FEES", "COINVOICE_EXPIRY_MINUTES", "COINVOICE_CONFIRMATIONS"]
)
def test_invalid_json_is_a_config_error_naming_the_variable(load, name):
    with pytest.raises(ConfigError, match=f"{name} is not valid JSON"):
        load(**{name: '{"ltc": 1'})


@pytest.mark.parametrize("name", ["COINVOICE_FIXED_RATES", "COINVOICE_FEES", "COINVOICE_EXPIRY_MINUTES"])
def test_an_empty_json_variable_means_the_defaults(load, name):
    assert load(**{name: "  "}) == load()


def test_networks_are_read_per_chain_case_insensitively(load):
    s = load(COINVOICE_LTC_NETWORK="Regtest", COINVOICE_TRON_NETWORK="testnet", COINVOICE_LTC_RPC_URL="http://n:1")
    assert s.chain("litecoin").network == "regtest"
    assert s.chain("litecoin").rpc_url == "http://n:1"
    assert s.chain("tron").network == "testnet"
    assert s.chain("bitcoin").network == "mainnet"


@pytest.mark.parametrize("chain", ["BTC", "LTC", "BCH", "ETH", "BSC", "TRON", "SOL", "TON"])
def test_an_unknown_network_is_a_config_error_naming_the_variable(load, chain):
    with pytest.raises(ConfigError, match=f"COINVOICE_{chain}_NETWORK"):
        load(**{f"COINVOICE_{chain}_NETWORK": "signet"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COINVOICE_PORT", "http"),
        ("COINVOICE_LTC_POLL_SECONDS", "often"),
        ("COINVOICE_LATE_PAYMENT_HOURS", "a day"),
    ],
)
def test_non_numeric_numbers_are_config_errors_naming_the_variable(load, name, value):
    with pytest.raises(ConfigError, match=name):
        load(**{name: value})


def test_rates_providers_is_a_comma_list(load):
    assert load(COINVOICE_RATES_PROVIDERS=" fixed, Kraken ,,").rates_providers == ("fixed", "kraken")


def test_the_master_key_is_generated_once_private_and_reused(tmp_path):
    env = {"COINVOICE_DATA_DIR": str(tmp_path / "data")}
    first = load_settings(env)
    key_file = tmp_path / "data" / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.master_key) >= 32
    assert load_settings(env).master_key == first.master_key
    assert load_settings({**env, "COINVOICE_MASTER_KEY": "given"}).master_key == b"given"


def test_webhook_timings_are_read_from_the_environment(load):
    s = load(
        COINVOICE_WEBHOOK_TIMEOUT_SECONDS="5",
        COINVOICE_WEBHOOK_RETRY_BASE_SECONDS="30",
        COINVOICE_WEBHOOK_RETRY_MAX_SECONDS="600",
        COINVOICE_WEBHOOK_RETRY_WINDOW_HOURS="24",
    )
    assert (s.webhook_timeout_seconds, s.webhook_retry_base_seconds, s.webhook_retry_max_seconds) == (5, 30, 600)
    assert s.webhook_retry_window_hours == 24
    d = load()
    assert (d.webhook_timeout_seconds, d.webhook_retry_base_seconds, d.webhook_retry_max_seconds) == (10, 60, 3600)
    assert d.webhook_retry_window_hours == 72


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_bad_webhook_timings_are_config_errors_naming_the_variable(load, value):
    with pytest.raises(ConfigError, match="COINVOICE_WEBHOOK_TIMEOUT_SECONDS"):
        load(COINVOICE_WEBHOOK_TIMEOUT_SECONDS=value)


def test_webhook_concurrency_and_retention_are_read_from_the_environment(load):
    s = load(
        COINVOICE_WEBHOOK_CONCURRENCY="64",
        COINVOICE_WEBHOOK_ENDPOINT_CONCURRENCY="4",
        COINVOICE_WEBHOOK_RETENTION_DAYS="7.5",
    )
    assert (s.webhook_concurrency, s.webhook_endpoint_concurrency, s.webhook_retention_days) == (64, 4, 7.5)
    assert load(COINVOICE_WEBHOOK_RETENTION_DAYS="0").webhook_retention_days == 0  # keep forever
    d = load()
    assert (d.webhook_concurrency, d.webhook_endpoint_concurrency, d.webhook_retention_days) == (32, 16, 30)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COINVOICE_WEBHOOK_CONCURRENCY", "0"),
        ("COINVOICE_WEBHOOK_ENDPOINT_CONCURRENCY", "two"),
        ("COINVOICE_WEBHOOK_RETENTION_DAYS", "-1"),
        ("COINVOICE_WEBHOOK_RETENTION_DAYS", "nan"),
    ],
)
def test_bad_webhook_concurrency_or_retention_is_a_config_error_naming_the_variable(load, name, value):
    with pytest.raises(ConfigError, match=name):
        load(**{name: value})


def test_tron_api_key_and_request_rate_are_read_and_the_key_is_never_shown(load):
    s = load(COINVOICE_TRON_API_KEY=" secret-key ", COINVOICE_TRON_MAX_REQUESTS_PER_SECOND="2.5")
    assert s.chain("tron").api_key == "secret-key"
    assert s.chain("tron").max_requests_per_second == 2.5
    assert "secret-key" not in repr(s)
    assert load().chain("tron").api_key is None and load().chain("tron").max_requests_per_second == 10


@pytest.mark.parametrize("value", ["fast", "-1", "inf", "nan"])
def test_a_bad_request_rate_is_a_config_error_naming_the_variable(load, value):
    with pytest.raises(ConfigError, match="COINVOICE_TRON_MAX_REQUESTS_PER_SECOND"):
        load(COINVOICE_TRON_MAX_REQUESTS_PER_SECOND=value)


def test_tron_assets_need_19_confirmations_by_default(load):
    s = load()
    assert s.confirmations_for("trx") == s.confirmations_for("trc20usdt") == 19


def test_rate_settings_defaults(load):
    s = load()
    assert (s.rates_refresh_seconds, s.rates_max_age_seconds, s.rates_min_sources) == (30.0, 300.0, 1)
    assert (s.rates_max_deviation_percent, s.rates_max_change_factor, s.rates_timeout_seconds) == (3, 2, 5.0)
    assert s.rates_urls["kraken"] == "https://api.kraken.com"
    assert (s.rates_spread_percent, s.rates_pegs, s.rates_api_keys) == ({}, {}, {})
    assert s.spread_for("ltc") == 0
    assert s.network_fee_max_percent == 5
    assert s.network_fee_fallback_for("trc20usdt") == Decimal(14)


def test_several_providers_need_two_sources_by_default(load):
    assert load(COINVOICE_RATES_PROVIDERS="kraken,coingecko").rates_min_sources == 2
    assert load(COINVOICE_RATES_PROVIDERS="kraken").rates_min_sources == 1
    assert (
        load(COINVOICE_RATES_PROVIDERS="kraken,binance,coinbase", COINVOICE_RATES_MIN_SOURCES="3").rates_min_sources
        == 3
    )


def test_rate_settings_are_read_from_the_environment(load):
    s = load(
        COINVOICE_RATES_PROVIDERS="coingecko,fixed",
        COINVOICE_RATES_COINGECKO_URL="https://pro-api.example/",
        COINVOICE_RATES_COINGECKO_API_KEY=" k ",
        COINVOICE_RATES_REFRESH_SECONDS="10",
        COINVOICE_RATES_MAX_AGE_SECONDS="60",
        COINVOICE_RATES_MAX_DEVIATION_PERCENT="1.5",
        COINVOICE_RATES_MAX_CHANGE_FACTOR="1.5",
        COINVOICE_RATES_SPREAD_PERCENT='{"BTC": "1", "usdt": 0.5, "default": "0.2"}',
        COINVOICE_RATES_PEGS='{"usdt": "usd", "USDC": "usd"}',
        COINVOICE_NETWORK_FEE_MAX_PERCENT="2",
        COINVOICE_NETWORK_FEE_FALLBACK='{"trc20usdt": "6.5"}',
    )
    assert s.rates_urls["coingecko"] == "https://pro-api.example"
    assert s.rates_api_keys == {"coingecko": "k"}
    assert (s.rates_refresh_seconds, s.rates_max_age_seconds) == (10.0, 60.0)
    assert (s.rates_max_deviation_percent, s.rates_max_change_factor) == (Decimal("1.5"), Decimal("1.5"))
    assert (s.spread_for("btc"), s.spread_for("trc20usdt"), s.spread_for("ltc")) == (1, Decimal("0.5"), Decimal("0.2"))
    assert s.rates_pegs == {"usdt": "usd", "usdc": "usd"}
    assert s.network_fee_max_percent == 2
    assert (s.network_fee_fallback_for("trc20usdt"), s.network_fee_fallback_for("trx")) == (
        Decimal("6.5"),
        Decimal("0.3"),
    )


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"COINVOICE_RATES_PROVIDERS": "fixed,oanda"}, "COINVOICE_RATES_PROVIDERS"),
        ({"COINVOICE_RATES_PROVIDERS": "kraken,kraken"}, "COINVOICE_RATES_PROVIDERS"),
        ({"COINVOICE_RATES_PROVIDERS": " , "}, "COINVOICE_RATES_PROVIDERS"),
        ({"COINVOICE_RATES_KRAKEN_URL": "ftp://x"}, "COINVOICE_RATES_KRAKEN_URL"),
        ({"COINVOICE_RATES_MIN_SOURCES": "0"}, "COINVOICE_RATES_MIN_SOURCES"),
        ({"COINVOICE_RATES_MIN_SOURCES": "2"}, "COINVOICE_RATES_MIN_SOURCES"),  # only fixed is configured
        ({"COINVOICE_RATES_REFRESH_SECONDS": "0"}, "COINVOICE_RATES_REFRESH_SECONDS"),
        ({"COINVOICE_RATES_MAX_AGE_SECONDS": "30"}, "COINVOICE_RATES_MAX_AGE_SECONDS"),  # not above the refresh
        ({"COINVOICE_RATES_MAX_DEVIATION_PERCENT": "-1"}, "COINVOICE_RATES_MAX_DEVIATION_PERCENT"),
        ({"COINVOICE_RATES_MAX_CHANGE_FACTOR": "1"}, "COINVOICE_RATES_MAX_CHANGE_FACTOR"),
        ({"COINVOICE_RATES_SPREAD_PERCENT": '{"doge": "1"}'}, "COINVOICE_RATES_SPREAD_PERCENT"),
        ({"COINVOICE_RATES_SPREAD_PERCENT": '{"btc": "60"}'}, "COINVOICE_RATES_SPREAD_PERCENT"),
        ({"COINVOICE_RATES_SPREAD_PERCENT": "[1]"}, "COINVOICE_RATES_SPREAD_PERCENT"),
        ({"COINVOICE_RATES_PEGS": '{"usdt": "usdt"}'}, "COINVOICE_RATES_PEGS"),
        ({"COINVOICE_RATES_PEGS": '{"usdt": "gbp"}'}, "COINVOICE_RATES_PEGS"),
        ({"COINVOICE_RATES_PEGS": '{"usdt": "usdc", "usdc": "usd"}'}, "COINVOICE_RATES_PEGS"),
        ({"COINVOICE_RATES_TIMEOUT_SECONDS": "soon"}, "COINVOICE_RATES_TIMEOUT_SECONDS"),
        ({"COINVOICE_NETWORK_FEE_MAX_PERCENT": "101"}, "COINVOICE_NETWORK_FEE_MAX_PERCENT"),
        ({"COINVOICE_NETWORK_FEE_FALLBACK": '{"usdt": "1"}'}, "COINVOICE_NETWORK_FEE_FALLBACK"),
        ({"COINVOICE_NETWORK_FEE_FALLBACK": '{"trx": "-1"}'}, "COINVOICE_NETWORK_FEE_FALLBACK"),
    ],
)
def test_bad_rate_settings_are_config_errors_naming_the_variable(load, env, name):
    with pytest.raises(ConfigError, match=name):
        load(**env)


def test_an_api_key_is_read_per_chain_and_never_shown(load):
    settings = load(COINVOICE_TON_API_KEY=" secret-key \n")
    assert settings.chain("ton").api_key == "secret-key"
    assert settings.chain("solana").api_key is None
    assert "secret-key" not in repr(settings.chain("ton"))


def test_sol_and_ton_are_confirmed_at_finality_by_default(load):
    settings = load()
    assert (settings.confirmations_for("sol"), settings.confirmations_for("ton")) == (1, 1)


def test_smtp_url_gives_host_port_credentials_and_security(load):
    assert load().smtp is None
    smtp = load(
        COINVOICE_SMTP_URL="smtp://bill%40shop:p%3Ass@127.0.0.1:2525", COINVOICE_SMTP_FROM="b@shop.example"
    ).smtp
    assert (smtp.host, smtp.port, smtp.username, smtp.password, smtp.security, smtp.sender) == (
        "127.0.0.1",
        2525,
        "bill@shop",
        "p:ss",
        "starttls",
        "b@shop.example",
    )
    assert "p:ss" not in repr(smtp)
    tls = load(COINVOICE_SMTP_URL="smtps://127.0.0.1").smtp
    assert (tls.port, tls.security) == (465, "tls")
    assert load(COINVOICE_SMTP_URL="smtp://127.0.0.1", COINVOICE_SMTP_SECURITY="none").smtp.security == "none"


@pytest.mark.parametrize(
    "env",
    [
        {"COINVOICE_SMTP_URL": "http://127.0.0.1"},
        {"COINVOICE_SMTP_URL": "smtp://"},
        {"COINVOICE_SMTP_URL": "smtp://127.0.0.1", "COINVOICE_SMTP_SECURITY": "ssl3"},
        {"COINVOICE_SMTP_URL": "smtp://127.0.0.1:99999"},
    ],
)
def test_bad_smtp_settings_are_config_errors(load, env):
    with pytest.raises(ConfigError, match="COINVOICE_SMTP"):
        load(**env)
