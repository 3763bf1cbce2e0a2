"""Rates from observations: direct, inverted and cross rates, pegs, screening, median, outliers, staleness, spread."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coinvoice.domain.rates import (
    NoRate,
    Observation,
    RatePolicy,
    SourceRate,
    aggregate,
    median,
    peg_observations,
    screen,
    source_rate,
    with_spread,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POLICY = RatePolicy(max_age=timedelta(minutes=5), min_sources=2, max_deviation_percent=Decimal(3))
D = Decimal


def obs(base: str, quote: str, rate: str, seconds_ago: float = 0) -> Observation:
    return Observation(base, quote, D(rate), NOW - timedelta(seconds=seconds_ago))


def table(*observations: Observation) -> dict:
    return peg_observations(observations, {})


def src(name: str, rate: str, seconds_ago: float = 0) -> SourceRate:
    return SourceRate(name, D(rate), NOW - timedelta(seconds=seconds_ago))


def test_a_direct_observation_is_used_as_it_is():
    rate = source_rate("kraken", table(obs("eur", "ltc", "0.0125")), "eur", "ltc")
    assert rate == SourceRate("kraken", D("0.0125"), NOW)


def test_an_observation_is_used_inverted_to_18_significant_digits():
    rate = source_rate("kraken", table(obs("ltc", "usd", "85")), "usd", "ltc")
    assert rate is not None and rate.via is None
    assert rate.rate == D("0.0117647058823529412")


def test_eur_to_trx_is_crossed_through_usd_and_is_as_old_as_its_oldest_leg():
    t = table(obs("eur", "usd", "1.08", seconds_ago=10), obs("trx", "usd", "0.12", seconds_ago=40))
    rate = source_rate("kraken", t, "eur", "trx")
    assert rate == SourceRate("kraken", D(9), NOW - timedelta(seconds=40), via="usd")


def test_binance_style_usdt_quotes_cross_eur_to_ltc_through_usdt():
    t = table(obs("eur", "usdt", "1.0800"), obs("ltc", "usdt", "86.40"))
    assert source_rate("binance", t, "eur", "ltc") == SourceRate("binance", D("0.0125"), NOW, via="usdt")


def test_without_a_peg_usdt_is_not_usd():
    t = table(obs("btc", "usdt", "67000"))
    assert source_rate("binance", t, "usd", "btc") is None


def test_a_peg_makes_usdt_quotes_count_as_usd_but_a_real_usd_market_wins():
    pegged = peg_observations([obs("btc", "usdt", "67000")], {"usdt": "usd"})
    assert source_rate("binance", pegged, "usd", "btc").rate == D("0.0000149253731343283582")
    both = peg_observations([obs("btc", "usd", "66000"), obs("btc", "usdt", "67000")], {"usdt": "usd"})
    assert source_rate("kraken", both, "btc", "usd").rate == D(66000)
    assert peg_observations([obs("usdt", "usd", "1.001")], {"usdt": "usd"}) == {}


def test_no_path_means_no_source():
    assert source_rate("x", table(obs("btc", "usd", "1")), "eur", "ton") is None


@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=9))
def test_median_is_the_middle_value_or_the_mean_of_the_two_middle_ones(values):
    decimals = [D(v) for v in values]
    m = median(decimals)
    assert sum(d < m for d in decimals) <= len(decimals) // 2
    assert sum(d > m for d in decimals) <= len(decimals) // 2


def test_the_rate_is_the_median_of_fresh_sources():
    agreed = aggregate([src("a", "100"), src("b", "101"), src("c", "99.5")], NOW, POLICY, "eur/x")
    assert agreed.value == D(100)
    assert [s.source for s in agreed.sources] == ["a", "b", "c"]


def test_a_source_further_than_the_deviation_from_the_median_is_left_out():
    agreed = aggregate([src("a", "100"), src("b", "101"), src("c", "150")], NOW, POLICY, "eur/x")
    assert agreed.value == D("100.5")
    assert [(s.source, why) for s, why in agreed.left_out] == [("c", "deviates")]


def test_stale_sources_are_left_out_and_too_few_fresh_ones_is_no_rate():
    with pytest.raises(NoRate, match=r"eur/x: 1 fresh source\(s\) of the 2 required \(b stale\)"):
        aggregate([src("a", "100"), src("b", "100", seconds_ago=301)], NOW, POLICY, "eur/x")


def test_all_stale_is_no_rate():
    with pytest.raises(NoRate, match="0 fresh source"):
        aggregate([src("a", "100", 600), src("b", "100", 900)], NOW, POLICY, "eur/x")


def test_two_sources_that_disagree_give_no_rate_rather_than_their_mean():
    with pytest.raises(NoRate, match="differ by more than 3%"):
        aggregate([src("a", "100"), src("b", "110")], NOW, POLICY, "eur/x")


@pytest.mark.parametrize("bad", ["0", "-1", "NaN", "Infinity"])
def test_an_unusable_value_never_counts(bad):
    policy = RatePolicy(timedelta(minutes=5), 1, D(3))
    agreed = aggregate([src("a", bad), src("b", "7")], NOW, policy, "eur/x")
    assert agreed.value == D(7)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0", "invalid"),
        ("-5", "invalid"),
        ("NaN", "invalid"),
        ("Infinity", "invalid"),
        ("201", "absurd"),
        ("49", "absurd"),
    ],
)
def test_screening_rejects_zero_negative_non_finite_and_absurd_jumps(value, reason):
    good, rejected = screen([obs("btc", "usd", value), obs("eth", "usd", "3500")], {("btc", "usd"): D(100)}, D(2))
    assert good == [obs("eth", "usd", "3500")]
    assert [(str(o.rate), why) for o, why in rejected] == [(str(D(value)), reason)]


def test_screening_accepts_a_move_within_the_factor_and_anything_without_a_reference():
    good, rejected = screen([obs("btc", "usd", "199"), obs("eth", "usd", "1")], {("btc", "usd"): D(100)}, D(2))
    assert (len(good), rejected) == (2, [])


def test_a_spread_makes_the_payer_send_that_much_more_rounded_up():
    assert with_spread(D("0.0125"), D(2)) == D("0.01275")
    assert with_spread(D(1) / D(3), D(1)) == D("0.336666666666666667")  # ceiling at 18 digits
    assert with_spread(D("0.0125"), D(0)) == D("0.0125")
