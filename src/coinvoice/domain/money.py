"""Decimal <-> integer base units, rounding per currency, and the wire format of amounts."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Context, Decimal, localcontext

#: Enough digits for 2**256 base units and any price we accept.
_CTX = Context(prec=90)
_EXPONENTS = {places: Decimal(1).scaleb(-places) for places in range(19)}


def round_price(value: Decimal, places: int) -> Decimal:
    """Round an item price half-up (away from zero on .5) to ``places`` decimals."""
    return value.quantize(_EXPONENTS[places], rounding=ROUND_HALF_UP, context=_CTX)


def to_base_units_up(value: Decimal, decimals: int) -> int:
    """Whole base units covering ``value``; rounds up, so an amount due is never short."""
    with localcontext(_CTX):
        return int(value.scaleb(decimals).to_integral_value(rounding=ROUND_CEILING))


def to_base_units_exact(value: Decimal, decimals: int) -> int:
    """Base units of an amount that must already be a whole number of them (values read from a chain)."""
    with localcontext(_CTX):
        scaled = value.scaleb(decimals)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {decimals} decimal places")
        return int(scaled)


def from_base_units(units: int, decimals: int) -> Decimal:
    """The decimal amount of ``units`` base units."""
    with localcontext(_CTX):
        return Decimal(units).scaleb(-decimals)


def fmt(value: Decimal) -> str:
    """A decimal as the wire shows it: plain notation, no exponent, no trailing zeros."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
