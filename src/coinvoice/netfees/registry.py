"""Which estimator each configured chain gets: one factory per chain family, chosen from the settings."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from coinvoice.chains.utxo.rpc import BitcoinRpc
from coinvoice.config import Settings
from coinvoice.domain.assets import CHAINS
from coinvoice.netfees.base import NetworkFeeEstimator
from coinvoice.netfees.evm import evm_fee_estimator
from coinvoice.netfees.utxo import UtxoFeeEstimator

#: Seconds a node may take to answer an estimate request.
ESTIMATE_TIMEOUT_SECONDS = 10.0
EstimatorFactory = Callable[[str, str, Settings, aiohttp.ClientSession], NetworkFeeEstimator | None]


def utxo_fee_estimator(
    chain: str, rpc_url: str, settings: Settings, http: aiohttp.ClientSession
) -> NetworkFeeEstimator | None:
    return UtxoFeeEstimator(chain, BitcoinRpc(rpc_url, http, timeout=ESTIMATE_TIMEOUT_SECONDS))


#: Chain family -> factory. Families without an entry (tron, solana, ton) use the fallback constants.
ESTIMATOR_FACTORIES: dict[str, EstimatorFactory] = {
    "utxo": utxo_fee_estimator,
    "evm": evm_fee_estimator,
}


def fee_estimators(settings: Settings, http: aiohttp.ClientSession) -> list[NetworkFeeEstimator]:
    """An estimator for every chain that has an RPC URL and a family that can estimate."""
    estimators = []
    for chain in CHAINS.values():
        rpc_url = settings.chain(chain.name).rpc_url
        factory = ESTIMATOR_FACTORIES.get(chain.family)
        if rpc_url and factory is not None and (estimator := factory(chain.name, rpc_url, settings, http)):
            estimators.append(estimator)
    return estimators


def estimated_chains(settings: Settings) -> tuple[str, ...]:
    """Chains whose estimates may be in the cache (an RPC URL and a family with a factory)."""
    return tuple(c.name for c in CHAINS.values() if settings.chain(c.name).rpc_url and c.family in ESTIMATOR_FACTORIES)
