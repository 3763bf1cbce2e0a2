"""Property tests of the quote: fee formula and an amount due that is never short by a base unit."""

from decimal import ROUND_CEILING, Context, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coinvoice.domain.fees import FeePolicy, make_quote

EXACT = Context(prec=200)


def exact_decimals(min_units: int, max_units: int, max_places: int):
    """Decimals built from integers (so they are exact), with up to ``max_places`` decimal places."""
    return st.builds(
        lambda n, p: Decimal(n).scaleb(-p),
        st.integers(min_value=min_units, max_value=max_units),
        st.integers(min_value=0, max_value=max_places),
    )


totals = exact_decimals(1, 10**17, 8)  # up to 1e15 at 2 places, down to 1e-8
rates = exact_decimals(1, 10**12, 12)
percents = exact_decimals(0, 1000, 2)  # 0 … 10 %
fixeds = exact_decimals(0, 10**6, 8)
asset_decimals = st.sampled_from([6, 8, 9, 18])


def ceil_units(value: Decimal, decimals: int) -> int:
    with localcontext(EXACT):
        return int(value.scaleb(decimals).to_integral_value(rounding=ROUND_CEILING))


@given(total=totals, rate=rates, percent=percents, fixed=fixeds, decimals=asset_decimals)
def test_payer_pays_converted_total_plus_fee_rounded_up_by_less_than_one_unit(total, rate, percent, fixed, decimals):
    quote = make_quote(total, rate, FeePolicy(percent, fixed), decimals, merchant_pays_fee=False)
    with localcontext(EXACT):
        converted = total * rate
        fee = converted * percent / 100 + fixed
        exact_due = converted + fee
        one_unit = Decimal(1).scaleb(-decimals)
        assert quote.due >= exact_due
        assert quote.due - exact_due < one_unit
        assert quote.due >= converted + quote.fee - one_unit  # rounding each part up costs at most one unit
    assert quote.due_units == ceil_units(exact_due, decimals)
    assert quote.fee_units == ceil_units(fee, decimals)
    assert quote.rate == rate


@given(total=totals, rate=rates, percent=percents, fixed=fixeds, decimals=asset_decimals)
def test_merchant_pays_fee_due_is_the_converted_total_rounded_up(total, rate, percent, fixed, decimals):
    quote = make_quote(total, rate, FeePolicy(percent, fixed), decimals, merchant_pays_fee=True)
    with localcontext(EXACT):
        converted = total * rate
        fee = converted * percent / 100 + fixed
    assert quote.due_units == ceil_units(converted, decimals)
    assert quote.due >= converted
    assert quote.fee_units == ceil_units(fee, decimals)


@given(total=totals, rate=rates, decimals=asset_decimals)
def test_payer_never_pays_less_than_when_the_merchant_pays_the_fee(total, rate, decimals):
    policy = FeePolicy(Decimal("0.5"), Decimal("0"))
    payer = make_quote(total, rate, policy, decimals, merchant_pays_fee=False)
    merchant = make_quote(total, rate, policy, decimals, merchant_pays_fee=True)
    assert payer.due_units >= merchant.due_units
    assert payer.fee_units == merchant.fee_units


def test_fee_is_percent_of_the_converted_total_plus_fixed():
    # 100 eur at 0.0125 ltc/eur = 1.25 ltc; 1 % of it is 0.0125, plus 0.0001 fixed = 0.0126 ltc
    quote = make_quote(Decimal(100), Decimal("0.0125"), FeePolicy(Decimal(1), Decimal("0.0001")), 8, False)
    assert quote.fee_units == 1_260_000
    assert quote.due_units == 126_260_000
    assert quote.fee == Decimal("0.0126")
    assert quote.due == Decimal("1.2626")


def test_fee_rounds_up_to_one_base_unit():
    # 0.01 usd at 1 usdt/usd with 6 decimals: 1 % is 0.0001 usdt = 100 units; 0.1 % of 0.01 is 10 units
    quote = make_quote(Decimal("0.01"), Decimal(1), FeePolicy(Decimal("0.001"), Decimal(0)), 6, False)
    assert quote.fee_units == 1  # 0.0000001 usdt is a tenth of a unit, rounded up
    assert quote.due_units == 10_001


def test_zero_fee_policy_makes_payer_and_merchant_quotes_equal():
    policy = FeePolicy(Decimal(0), Decimal(0))
    a = make_quote(Decimal("7.99"), Decimal("0.0125"), policy, 8, False)
    b = make_quote(Decimal("7.99"), Decimal("0.0125"), policy, 8, True)
    assert a == b
    assert a.fee_units == 0
    assert a.due_units == 9_987_500


@pytest.mark.parametrize(("total", "rate"), [("0", "1"), ("-1", "1"), ("1", "0"), ("1", "-0.5")])
def test_quote_refuses_a_non_positive_total_or_rate(total, rate):
    with pytest.raises(ValueError):
        make_quote(Decimal(total), Decimal(rate), FeePolicy(), 8, False)


def test_the_payers_network_fee_is_added_to_the_fee_and_the_amount_due():
    # 100 eur at 0.0125 = 1.25 ltc; 1 % = 0.0125 ltc, plus 0.0000141 ltc network fee
    quote = make_quote(
        Decimal(100), Decimal("0.0125"), FeePolicy(Decimal(1)), 8, False, network_fee=Decimal("0.0000141")
    )
    assert (quote.network_fee_units, quote.fee_units, quote.due_units) == (1410, 1_251_410, 126_251_410)


def test_the_network_fee_is_capped_at_a_percent_of_the_converted_total():
    quote = make_quote(
        Decimal(1),
        Decimal(1),
        FeePolicy(Decimal(0)),
        2,
        False,
        network_fee=Decimal(5),
        network_fee_max_percent=Decimal(5),
    )
    assert (quote.network_fee_units, quote.fee_units, quote.due_units) == (5, 5, 105)  # 0.05 of 1.00


def test_when_the_merchant_pays_the_fee_the_payer_owes_no_network_fee():
    quote = make_quote(Decimal(100), Decimal("0.0125"), FeePolicy(Decimal(1)), 8, True, network_fee=Decimal("0.001"))
    assert (quote.network_fee_units, quote.fee_units, quote.due_units) == (0, 1_250_000, 125_000_000)


@given(total=totals, rate=rates, fee=exact_decimals(0, 10**9, 9), cap=percents, decimals=asset_decimals)
def test_the_network_fee_never_exceeds_the_estimate_or_the_cap_by_more_than_rounding(total, rate, fee, cap, decimals):
    quote = make_quote(total, rate, FeePolicy(Decimal(0)), decimals, False, fee, cap)
    with localcontext(EXACT):
        limit = min(fee, total * rate * cap / 100)
    assert quote.network_fee_units == ceil_units(limit, decimals)
    assert quote.fee_units == quote.network_fee_units
