"""Rate use cases: the public rate of a pair for shops (GET /api/rates), and the wire shape of rate sources."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

from coinvoice.config import RATE_CURRENCIES, Settings
from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.domain.errors import Invalid
from coinvoice.domain.money import fmt
from coinvoice.domain.rates import SourceRate
from coinvoice.rates.service import RateService
from coinvoice.services.views import wire_time

#: what GET /api/rates takes as ``to``: a rate currency, or a payment asset (a token on one network)
QUOTE_CURRENCIES = (*RATE_CURRENCIES, *(c for c in PAYMENT_ASSETS if c not in RATE_CURRENCIES))


def rate_sources_json(sources: Iterable[SourceRate]) -> list[dict[str, Any]]:
    """What a rate was built from: each source's own rate, its time, and the currency it crossed through."""
    return [{"source": s.source, "rate": fmt(s.rate), "at": wire_time(s.observed_at), "via": s.via} for s in sources]


def _currency(value: str | None, field: str, allowed: Iterable[str]) -> str:
    code = (value or "").strip().lower()
    if not code:
        raise Invalid("required", f"{field} is required", field)
    if code not in allowed:
        raise Invalid("unknown_currency", f"{field} must be one of {', '.join(allowed)}", field)
    return code


async def rate_view(
    pool: asyncpg.Pool, settings: Settings, rates: RateService, base: str | None, quote: str | None
) -> dict[str, Any]:
    """The rate a fill would quote now (spread included) from one invoice currency to one asset."""
    base = _currency(base, "from", RATE_CURRENCIES)
    quote = _currency(quote, "to", QUOTE_CURRENCIES)
    asset = PAYMENT_ASSETS[quote].asset if quote in PAYMENT_ASSETS else quote
    await rates.ready(pool)
    quoted = rates.rate(base, asset, spread_percent=settings.spread_for(quote), field="to")
    return {
        "from": base,
        "to": quote,
        "rate": fmt(quoted.value),
        "spreadPercent": fmt(quoted.spread_percent),
        "sources": rate_sources_json(quoted.sources),
        "updatedAt": wire_time(min(s.observed_at for s in quoted.sources)),
    }
