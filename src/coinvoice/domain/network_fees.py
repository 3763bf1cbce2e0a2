"""Network fees: what one typical payment out of a deposit costs on each chain, in the chain's native coin.

When the payer pays the fee, the quote adds this cost (converted into the payment asset, capped) to the
service fee. Estimates come from the nodes through the refresh job; these constants are the documented
fallback for chains without an estimate (no node configured, or the node has no estimate yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from coinvoice.domain.money import _CTX

#: vsize of a typical one-input P2WPKH payment: 10.5 vB of transaction overhead, one P2WPKH input
#: (68 vB with its witness) and two P2WPKH outputs, the payment and the change (31 vB each) = 140.5 -> 141.
P2WPKH_PAYMENT_VBYTES = 141
#: Bitcoin Cash has no SegWit: 10 B overhead, one P2PKH input (148 B), two P2PKH outputs (34 B each).
P2PKH_PAYMENT_BYTES = 226
TYPICAL_PAYMENT_VBYTES = {
    "bitcoin": P2WPKH_PAYMENT_VBYTES,
    "litecoin": P2WPKH_PAYMENT_VBYTES,
    "bitcoincash": P2PKH_PAYMENT_BYTES,
}
#: Gas of a native EVM transfer, and of a typical ERC-20 ``transfer`` (the EVM estimator measures the latter).
NATIVE_TRANSFER_GAS = 21_000
TOKEN_TRANSFER_GAS = 65_000
WEI_PER_ETHER = 10**18

#: The fallback per payment asset, in the native coin of its chain, used when no estimate is available:
FALLBACK_NETWORK_FEES: dict[str, Decimal] = {
    "btc": Decimal("0.0000141"),  # 10 sat/vB x 141 vB
    "ltc": Decimal("0.0000141"),  # 10 litoshi/vB x 141 vB
    "bch": Decimal("0.00000226"),  # 1 sat/B x 226 B
    "eth": Decimal("0.00021"),  # 21,000 gas x 10 gwei
    "usdterc20": Decimal("0.00065"),  # 65,000 gas x 10 gwei, paid in eth
    "usdc": Decimal("0.00065"),  # 65,000 gas x 10 gwei, paid in eth
    "bnb": Decimal("0.000021"),  # 21,000 gas x 1 gwei
    "trx": Decimal("0.3"),  # about 270 bandwidth points burnt at 1,000 sun
    "trc20usdt": Decimal("14"),  # about 65,000 energy at 210 sun plus bandwidth, paid in trx
    "sol": Decimal("0.000005"),  # the base fee of one signature
    "ton": Decimal("0.01"),  # a wallet transfer with a comment, forward and storage fees included
}
#: How long a node's estimate is used before the fallback takes over again.
ESTIMATE_MAX_AGE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class NetworkFee:
    """The cost of one payment of ``payment_asset``, in ``coin`` (its chain's native coin)."""

    payment_asset: str
    coin: str
    amount: Decimal
    source: str  # "estimatesmartfee", "fallback", ...
    observed_at: datetime | None = None


def utxo_payment_fee(feerate_per_kvb: Decimal, vbytes: int) -> Decimal:
    """A Bitcoin Core fee rate (coin per 1,000 vbytes, as estimatesmartfee answers) times a payment's size."""
    with localcontext(_CTX):
        return feerate_per_kvb * vbytes / 1000


def evm_transfer_fee(base_fee_wei: int, priority_fee_wei: int, gas: int) -> Decimal:
    """(base fee + priority fee) x gas, in ether (or the chain's native coin)."""
    with localcontext(_CTX):
        return Decimal((base_fee_wei + priority_fee_wei) * gas) / WEI_PER_ETHER


def current_or_fallback(
    estimate: NetworkFee | None, payment_asset: str, coin: str, now: datetime, fallback: Decimal
) -> NetworkFee:
    """The node's estimate while it is recent enough, else the fallback constant."""
    if estimate is not None and estimate.observed_at is not None and now - estimate.observed_at <= ESTIMATE_MAX_AGE:
        return estimate
    return NetworkFee(payment_asset, coin, fallback, "fallback")
