"""The RateProvider protocol and the rate a quote is built from."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Rate:
    value: Decimal  # units of the quote asset per one unit of the base currency
    source: str


class RateProvider(Protocol):
    name: str

    async def rate(self, base: str, quote: str) -> Decimal | None:
        """Units of ``quote`` per one ``base``, or None when this provider has no such pair."""
        ...
