"""Exchange rates from market observations: sanity checks, direct and cross rates, median, outliers, spread.

Pure: the rate service feeds it observations read from the rate cache; nothing here waits on anything.
A rate is always "units of ``quote`` per one unit of ``base``".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext

from coinvoice.domain.money import _CTX

#: Significant digits a computed (inverted, crossed, averaged, spread) rate keeps.
RATE_DIGITS = 18
#: Currencies a cross rate may go through, in order of preference: base -> pivot -> quote.
PIVOTS = ("usd", "eur", "usdt", "usdc", "btc", "eth")
_SIGNIFICANT = {rounding: Context(prec=RATE_DIGITS, rounding=rounding) for rounding in (ROUND_HALF_EVEN, ROUND_CEILING)}
Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Observation:
    """One market price a source reported: ``rate`` units of ``quote`` per ``base``, as of ``observed_at``."""

    base: str
    quote: str
    rate: Decimal
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class SourceRate:
    """One source's rate for a pair, direct or crossed through ``via``; as old as its oldest leg."""

    source: str
    rate: Decimal
    observed_at: datetime
    via: str | None = None


@dataclass(frozen=True, slots=True)
class RatePolicy:
    max_age: timedelta
    min_sources: int
    max_deviation_percent: Decimal


@dataclass(frozen=True, slots=True)
class AggregateRate:
    """The rate to quote with, the fresh sources it is the median of, and the sources left out."""

    value: Decimal
    sources: tuple[SourceRate, ...]
    left_out: tuple[tuple[SourceRate, str], ...] = ()


class NoRate(Exception):
    """Not enough fresh, agreeing sources for a pair; the message says what was missing."""


def significant(value: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """``value`` kept to RATE_DIGITS significant digits."""
    return _SIGNIFICANT[rounding].plus(value)


def is_usable(value: Decimal) -> bool:
    """A rate can be used at all: a finite number greater than zero."""
    try:
        return value.is_finite() and value > 0
    except (AttributeError, InvalidOperation):
        return False


def within_factor(value: Decimal, reference: Decimal, factor: Decimal) -> bool:
    """``value`` is at most ``factor`` times above or below ``reference`` (both positive)."""
    with localcontext(_CTX):
        return reference / factor <= value <= reference * factor


def screen(
    observations: Iterable[Observation], previous: Mapping[Pair, Decimal], max_change_factor: Decimal
) -> tuple[list[Observation], list[tuple[Observation, str]]]:
    """Split a provider's fresh observations into usable ones and rejected ones with the reason.

    Rejected as ``invalid``: zero, negative or non-finite values; as ``absurd``: values more than
    ``max_change_factor`` times above or below the provider's last good value for the pair (``previous``,
    only those still fresh).
    """
    good, rejected = [], []
    for o in observations:
        if not is_usable(o.rate):
            rejected.append((o, "invalid"))
        elif (last := previous.get((o.base, o.quote))) is not None and not within_factor(
            o.rate, last, max_change_factor
        ):
            rejected.append((o, "absurd"))
        else:
            good.append(o)
    return good, rejected


def median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    with localcontext(_CTX):
        return (ordered[middle - 1] + ordered[middle]) / 2


def peg_observations(observations: Iterable[Observation], pegs: Mapping[str, str]) -> dict[Pair, Observation]:
    """Observations keyed by pair, with every pegged currency replaced by what it is pegged to.

    A market observation of the peg target wins over one that only reaches it through a peg
    (``btc/usd`` over ``btc/usdt`` when usdt is pegged to usd); a pegged currency against its own
    target says nothing and is dropped.
    """
    table: dict[Pair, Observation] = {}
    pegged: dict[Pair, Observation] = {}
    for o in observations:
        base, quote = pegs.get(o.base, o.base), pegs.get(o.quote, o.quote)
        if base == quote:
            continue
        target = table if (base, quote) == (o.base, o.quote) else pegged
        target[(base, quote)] = Observation(base, quote, o.rate, o.observed_at)
    return {**pegged, **table}


def _leg(table: Mapping[Pair, Observation], base: str, quote: str) -> tuple[Decimal, datetime] | None:
    if (o := table.get((base, quote))) is not None:
        return o.rate, o.observed_at
    if (o := table.get((quote, base))) is not None:
        with localcontext(_CTX):
            return 1 / o.rate, o.observed_at
    return None


def source_rate(source: str, table: Mapping[Pair, Observation], base: str, quote: str) -> SourceRate | None:
    """``source``'s rate for base -> quote from its own observations: direct, inverted, or through one pivot."""
    if (direct := _leg(table, base, quote)) is not None:
        return SourceRate(source, significant(direct[0]), direct[1])
    for pivot in PIVOTS:
        if pivot in (base, quote):
            continue
        first, second = _leg(table, base, pivot), _leg(table, pivot, quote)
        if first is not None and second is not None:
            with localcontext(_CTX):
                rate = first[0] * second[0]
            return SourceRate(source, significant(rate), min(first[1], second[1]), via=pivot)
    return None


def aggregate(sources: Sequence[SourceRate], now: datetime, policy: RatePolicy, pair: str) -> AggregateRate:
    """The median of the fresh sources after dropping those too far from it; NoRate when too few remain."""
    left_out: list[tuple[SourceRate, str]] = []
    fresh = []
    for s in sources:
        if not is_usable(s.rate):
            left_out.append((s, "unusable"))
        elif now - s.observed_at > policy.max_age or s.observed_at - now > policy.max_age:
            left_out.append((s, "stale"))
        else:
            fresh.append(s)
    if len(fresh) < policy.min_sources:
        raise NoRate(
            f"no fresh rate for {pair}: {len(fresh)} fresh source(s) of the {policy.min_sources} required"
            + (f" ({', '.join(sorted({s.source for s, _ in left_out}))} stale)" if left_out else "")
        )
    middle = median([s.rate for s in fresh])
    kept = []
    with localcontext(_CTX):
        limit = middle * policy.max_deviation_percent / 100
        for s in fresh:
            if abs(s.rate - middle) > limit:
                left_out.append((s, "deviates"))
            else:
                kept.append(s)
    if len(kept) < policy.min_sources:
        raise NoRate(
            f"no agreed rate for {pair}: the sources differ by more than {policy.max_deviation_percent}% "
            f"({len(kept)} agree, {policy.min_sources} required)"
        )
    return AggregateRate(significant(median([s.rate for s in kept])), tuple(kept), tuple(left_out))


def with_spread(rate: Decimal, spread_percent: Decimal) -> Decimal:
    """The rate with the merchant's spread on top: the payer sends ``spread_percent`` more, rounded up."""
    if not spread_percent:
        return rate
    with localcontext(_CTX):
        return significant(rate * (100 + spread_percent) / 100, ROUND_CEILING)
