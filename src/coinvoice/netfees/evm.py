"""EVM network-fee estimate (ethereum, bsc): (next base fee + median priority fee) x the gas of a payment.

Gas is 21,000 for the native coin. For a token it is measured: ``eth_estimateGas`` of a ``transfer`` of 0 units
(no balance needed, so any address can ask) plus the 20,000 gas a real payment pays for the recipient's balance
going from zero to non-zero (EIP-2200 SSTORE set), which a zero-value call does not pay.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import aiohttp

from coinvoice.config import Settings
from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.domain.chains import Chain
from coinvoice.domain.network_fees import NATIVE_TRANSFER_GAS, evm_transfer_fee
from coinvoice.rates.estimators import EstimateFailed, NetworkFeeEstimator, NoEstimate

#: Blocks of fee history the priority fee is the median over.
FEE_HISTORY_BLOCKS = 5
#: Gas a real token payment pays beyond a zero-value transfer: the recipient's balance slot set from zero.
RECIPIENT_SLOT_SET_GAS = 20_000
#: Any address will do as the sender and recipient of the zero-value estimate (it moves nothing).
_PROBE_FROM = "0x" + "11" * 20
_PROBE_TO = "0x" + "22" * 20
TIMEOUT_SECONDS = 10.0


class EvmFeeEstimator:
    source = "eth_feeHistory"

    def __init__(self, chain: str, rpc_url: str, http: aiohttp.ClientSession, tokens: Mapping[str, str]) -> None:
        self.chain = chain
        self._url = rpc_url
        self._http = http
        self._tokens = dict(tokens)
        self._native = next(p.code for p in PAYMENT_ASSETS.values() if p.chain == chain and not p.is_token)
        self._ids = itertools.count(1)

    async def estimate(self) -> Mapping[str, Decimal]:
        history = await self._rpc("eth_feeHistory", [hex(FEE_HISTORY_BLOCKS), "latest", [50]])
        base_fees = history.get("baseFeePerGas") or []
        if not base_fees:
            raise NoEstimate(f"{self.chain} eth_feeHistory has no base fee: {history!r}")
        base = int(base_fees[-1], 16)  # the next block's base fee
        rewards = sorted(int(r[0], 16) for r in history.get("reward") or [] if r)
        priority = rewards[len(rewards) // 2] if rewards else 0
        fees = {self._native: evm_transfer_fee(base, priority, NATIVE_TRANSFER_GAS)}
        for code, contract in self._tokens.items():
            data = "0xa9059cbb" + _PROBE_TO[2:].rjust(64, "0") + "0" * 64  # transfer(probe, 0)
            gas = int(await self._rpc("eth_estimateGas", [{"from": _PROBE_FROM, "to": contract, "data": data}]), 16)
            fees[code] = evm_transfer_fee(base, priority, gas + RECIPIENT_SLOT_SET_GAS)
        return fees

    async def _rpc(self, method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            async with self._http.post(
                self._url, json=body, timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
            ) as resp:
                reply = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise EstimateFailed(f"{self.chain} {method}: {exc or type(exc).__name__}") from exc
        if not isinstance(reply, dict) or "result" not in reply:
            error = reply.get("error") if isinstance(reply, dict) else reply
            raise EstimateFailed(f"{self.chain} {method}: {error!r}")
        return reply["result"]


def evm_fee_estimator(chain: Chain, settings: Settings, http: aiohttp.ClientSession) -> NetworkFeeEstimator | None:
    """The estimator of an EVM chain with an RPC URL."""
    rpc_url = settings.chain(chain.name).rpc_url
    assert rpc_url is not None
    return EvmFeeEstimator(chain.name, rpc_url, http, settings.tokens_of(chain.name))
