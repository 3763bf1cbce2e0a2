"""The NetworkFeeEstimator protocol: what one typical payment costs on a chain right now."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol


class NoEstimate(Exception):
    """The node answered but has no estimate yet (too few recent blocks with transactions)."""


class NetworkFeeEstimator(Protocol):
    """One per chain with a node; asked by the refresh job only, never inside a request."""

    chain: str  # Chain.name
    source: str  # recorded with the estimate, e.g. "estimatesmartfee"

    async def estimate(self) -> Mapping[str, Decimal]:
        """Payment asset code -> the cost of one typical payment of it, in the chain's native coin.

        Raises NoEstimate when the node has none, or the node client's own error when it cannot answer.
        """
        ...
