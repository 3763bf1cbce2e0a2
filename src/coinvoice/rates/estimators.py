"""The NetworkFeeEstimator protocol: what one typical payment costs on a chain right now.

The estimates are cached by the rate refresh job beside the rates; the estimators themselves are chain
adapters (``coinvoice.netfees``), so this module, the job and the cache need no chain code.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol


class NoEstimate(Exception):
    """The node answered but has no estimate yet (too few recent blocks with transactions)."""


class EstimateFailed(Exception):
    """The node could not be asked (unreachable, warming up, an RPC error)."""


class NetworkFeeEstimator(Protocol):
    """One per chain with a node; asked by the refresh job only, never inside a request."""

    chain: str  # Chain.name
    source: str  # recorded with the estimate, e.g. "estimatesmartfee"

    async def estimate(self) -> Mapping[str, Decimal]:
        """Payment asset code -> the cost of one typical payment of it, in the chain's native coin.

        Raises NoEstimate when the node has none yet, EstimateFailed when the node cannot answer.
        """
        ...
