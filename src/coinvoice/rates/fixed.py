"""The fixed rate provider: rates from COINVOICE_FIXED_RATES, usable directly or inverted."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext

from coinvoice.domain.money import _CTX


class FixedRates:
    name = "fixed"

    def __init__(self, table: Mapping[tuple[str, str], Decimal]):
        self._table = dict(table)

    async def rate(self, base: str, quote: str) -> Decimal | None:
        if (base, quote) in self._table:
            return self._table[(base, quote)]
        if (quote, base) in self._table:
            with localcontext(_CTX):
                return 1 / self._table[(quote, base)]
        return None
