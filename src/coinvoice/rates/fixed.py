"""The fixed rate provider: the merchant's own rates from COINVOICE_FIXED_RATES, always current, no network."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from coinvoice.domain.rates import Observation


class FixedRates:
    name = "fixed"

    def __init__(self, table: Mapping[tuple[str, str], Decimal]):
        self._table = dict(table)

    def observations(self, now: datetime) -> list[Observation]:
        """The configured pairs as observations made ``now``: they never go stale."""
        return [Observation(base, quote, rate, now) for (base, quote), rate in self._table.items()]
