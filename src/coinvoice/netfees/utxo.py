"""Bitcoin Core-family estimate: estimatesmartfee's fee rate times the size of a typical payment."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from coinvoice.chains.utxo.rpc import BitcoinRpc, NodeUnavailable, RpcError
from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.domain.network_fees import TYPICAL_PAYMENT_VBYTES, utxo_payment_fee
from coinvoice.rates.estimators import EstimateFailed, NoEstimate

#: Blocks within which a payment out of a deposit should confirm: an economical, not an urgent, rate.
CONFIRMATION_TARGET_BLOCKS = 6


class UtxoFeeEstimator:
    source = "estimatesmartfee"

    def __init__(self, chain: str, rpc: BitcoinRpc, target_blocks: int = CONFIRMATION_TARGET_BLOCKS) -> None:
        self.chain = chain
        self._rpc = rpc
        self._target = target_blocks
        self._vbytes = TYPICAL_PAYMENT_VBYTES[chain]
        self._assets = tuple(p.code for p in PAYMENT_ASSETS.values() if p.chain == chain)

    async def estimate(self) -> Mapping[str, Decimal]:
        try:
            answer = await self._rpc.call("estimatesmartfee", self._target)
        except (NodeUnavailable, RpcError) as exc:
            raise EstimateFailed(str(exc)) from exc
        feerate = answer.get("feerate") if isinstance(answer, dict) else None
        if not isinstance(feerate, Decimal) or not feerate.is_finite() or feerate <= 0:
            errors = answer.get("errors") if isinstance(answer, dict) else None
            raise NoEstimate(f"{self.chain} estimatesmartfee {self._target}: {errors or answer!r}")
        fee = utxo_payment_fee(feerate, self._vbytes)
        return {code: fee for code in self._assets}
