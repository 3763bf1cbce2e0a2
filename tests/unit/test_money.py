"""Property tests of price rounding, base-unit conversion and the wire format of amounts."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coinvoice.domain.assets import PRICE_PRECISION
from coinvoice.domain.money import fmt, from_base_units, round_price, to_base_units_exact, to_base_units_up

currencies = st.sampled_from(sorted(PRICE_PRECISION))
decimals = st.sampled_from([0, 2, 6, 8, 9, 18])
# Prices up to 10**15 (the API's limit) with up to 20 decimal places, built from integers: exact by construction.
digits = st.integers(min_value=-(10**35), max_value=10**35)
places_extra = st.integers(min_value=0, max_value=20)


def half_up_reference(value: Decimal, places: int) -> Decimal:
    """Half-up (away from zero on .5) computed with integers only."""
    sign, digits_, exponent = value.as_tuple()
    n = int("".join(map(str, digits_)) or "0")
    shift = -exponent - places  # how many digits to drop
    if shift <= 0:
        q = n * 10**-shift
    else:
        q, rest = divmod(n, 10**shift)
        if rest * 2 >= 10**shift:
            q += 1
    return Decimal(-q if sign else q).scaleb(-places)


@given(currency=currencies, n=digits, extra=places_extra)
def test_round_price_is_half_up_to_the_currency_precision(currency, n, extra):
    places = PRICE_PRECISION[currency]
    value = Decimal(n).scaleb(-(places + extra))
    rounded = round_price(value, places)
    assert rounded == half_up_reference(value, places)
    assert -rounded.as_tuple().exponent == places
    assert abs(rounded - value) <= Decimal(1).scaleb(-places) / 2


@given(currency=currencies, n=digits)
def test_round_price_keeps_a_value_already_at_precision(currency, n):
    places = PRICE_PRECISION[currency]
    value = Decimal(n).scaleb(-places)
    assert round_price(value, places) == value
    assert fmt(round_price(value, places)) == fmt(value)


@pytest.mark.parametrize(
    ("currency", "price", "expected"),
    [
        ("usd", "1.005", "1.01"),
        ("eur", "1.004999", "1.00"),
        ("usdt", "2.675", "2.68"),  # 2.675 as a float is 2.67499…; as a Decimal it rounds up
        ("usdc", "-1.005", "-1.01"),  # away from zero
        ("sol", "0.00005", "0.0001"),
        ("ton", "1.23454999", "1.2345"),
        ("btc", "0.0000005", "0.000001"),
        ("eth", "1.2345675", "1.234568"),
        ("bnb", "0.000000005", "0.00000001"),
        ("bch", "0.000000004", "0.00000000"),
        ("ltc", "1.123456785", "1.12345679"),
        ("trx", "-0.000000015", "-0.00000002"),
    ],
)
def test_round_price_examples_per_currency(currency, price, expected):
    assert round_price(Decimal(price), PRICE_PRECISION[currency]) == Decimal(expected)


@given(n=st.integers(min_value=0, max_value=10**40), extra=places_extra, d=decimals)
def test_to_base_units_up_never_rounds_down_and_is_below_one_unit_more(n, extra, d):
    value = Decimal(n).scaleb(-(d + extra))
    units = to_base_units_up(value, d)
    assert from_base_units(units, d) >= value
    assert from_base_units(units - 1, d) < value


@given(units=st.integers(min_value=0, max_value=2**256), d=decimals)
def test_to_base_units_up_is_exact_on_exact_values(units, d):
    value = from_base_units(units, d)
    assert to_base_units_up(value, d) == units
    assert to_base_units_exact(value, d) == units


def test_to_base_units_exact_rejects_more_places_than_the_asset_has():
    with pytest.raises(ValueError, match="decimal places"):
        to_base_units_exact(Decimal("0.000000001"), 8)


@given(units=st.integers(min_value=-(2**256), max_value=2**256), d=decimals)
def test_fmt_is_plain_decimal_text_that_reads_back_equal(units, d):
    value = from_base_units(units, d)
    text = fmt(value)
    assert "E" not in text.upper()
    assert Decimal(text) == value
    if "." in text:
        assert not text.endswith("0") and not text.endswith(".")


@pytest.mark.parametrize(
    ("value", "text"),
    [("1E-8", "0.00000001"), ("1E+3", "1000"), ("10.50", "10.5"), ("-3.00", "-3"), ("0E-8", "0"), ("-0", "0")],
)
def test_fmt_examples(value, text):
    assert fmt(Decimal(value)) == text
