"""Which network-fee estimator each chain with a node gets: one factory per chain family, as for the watchers."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from coinvoice.chains.utxo.rpc import BitcoinRpc
from coinvoice.config import Settings
from coinvoice.domain.chains import CHAINS, Chain
from coinvoice.netfees.evm import evm_fee_estimator
from coinvoice.netfees.utxo import UtxoFeeEstimator
from coinvoice.rates.estimators import NetworkFeeEstimator

#: Seconds a node may take to answer an estimate request.
ESTIMATE_TIMEOUT_SECONDS = 10.0
EstimatorFactory = Callable[[Chain, Settings, aiohttp.ClientSession], NetworkFeeEstimator | None]


def utxo_fee_estimator(chain: Chain, settings: Settings, http: aiohttp.ClientSession) -> NetworkFeeEstimator | None:
    rpc_url = settings.chain(chain.name).rpc_url
    assert rpc_url is not None
    return UtxoFeeEstimator(chain.name, BitcoinRpc(rpc_url, http, timeout=ESTIMATE_TIMEOUT_SECONDS))


#: Chain family -> factory. Families without an entry (tron, solana, ton) use the fallback constants.
ESTIMATORS: dict[str, EstimatorFactory] = {"utxo": utxo_fee_estimator, "evm": evm_fee_estimator}


def fee_estimators(settings: Settings, http: aiohttp.ClientSession) -> list[NetworkFeeEstimator]:
    """An estimator for every chain that has an RPC URL and a family that can estimate."""
    estimators = []
    for chain in CHAINS.values():
        factory = ESTIMATORS.get(chain.family)
        if settings.chain(chain.name).rpc_url and factory is not None and (made := factory(chain, settings, http)):
            estimators.append(made)
    return estimators
