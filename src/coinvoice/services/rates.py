"""Rate use cases: the wire shape of rate sources."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from coinvoice.domain.money import fmt
from coinvoice.domain.rates import SourceRate
from coinvoice.services.views import wire_time


def rate_sources_json(sources: Iterable[SourceRate]) -> list[dict[str, Any]]:
    """What a rate was built from: each source's own rate, its time, and the currency it crossed through."""
    return [{"source": s.source, "rate": fmt(s.rate), "at": wire_time(s.observed_at), "via": s.via} for s in sources]
