"""EVM network-fee hook (ethereum, bsc): to be filled with the web3 adapter of chains/evm.

The estimate it must return, per payment asset on the chain, in the chain's native coin:
``domain.network_fees.evm_transfer_fee(base fee, priority fee, gas)`` with the next block's base fee and a
priority fee (``eth_feeHistory``), and gas = NATIVE_TRANSFER_GAS (21,000) for the native coin, or the
measured gas of an ERC-20 ``transfer`` of the token (``eth_estimateGas``) for usdterc20 and usdc. Raise
``rates.estimators.NoEstimate`` / ``EstimateFailed`` as the UTXO estimator does.
Until then the registry gets None here and quotes use the documented fallback constants.
"""

from __future__ import annotations

import aiohttp

from coinvoice.config import Settings
from coinvoice.domain.chains import Chain
from coinvoice.rates.estimators import NetworkFeeEstimator


def evm_fee_estimator(chain: Chain, settings: Settings, http: aiohttp.ClientSession) -> NetworkFeeEstimator | None:
    """The estimator for an EVM chain with an RPC URL; None (the fallback constants) until it is implemented."""
    return None
