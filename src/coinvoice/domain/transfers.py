"""What chain watchers see and what counts: block references, transfers, and the crediting rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block as the watcher remembers it: enough to follow the chain and detect a reorg."""

    height: int
    hash: str
    prev_hash: str | None
    time: int | None


@dataclass(frozen=True, slots=True)
class Transfer:
    """Value sent to one address by one transaction output (UTXO), log or call (EVM).

    ``index`` keys the transfer inside its transaction: the output index on UTXO chains; on EVM chains the
    log index for a token transfer, -1 for the transaction's own value and -2 - n for its n-th internal call.
    ``asset`` is the payment asset code (``eth``, ``usdterc20``) or None for a token we do not know;
    ``contract`` is the token contract (None for the chain's own coin). ``block`` is None in the mempool.
    On a shared merchant address ``tag`` is the payer's text comment (TON) and ``references`` the keys the
    transaction names besides its recipient (Solana Pay reference accounts): what tells its invoice apart.
    """

    chain: str
    txid: str
    index: int
    address: str
    amount_units: int
    asset: str | None
    block: BlockRef | None
    contract: str | None = None
    tag: str | None = None
    references: tuple[str, ...] = ()


class NotCredited(StrEnum):
    """Why a transfer to one of our addresses does not count toward an invoice."""

    WRONG_ASSET = "wrong_asset"  # a known asset, but not the one the invoice was quoted in
    UNKNOWN_TOKEN = "unknown_token"  # a token contract that is not configured (e.g. a fake "USDT")
    AFTER_LATE_WINDOW = "after_late_window"  # arrived after the late-payment monitoring window closed
    NO_INVOICE = "no_invoice"  # our address, but no invoice (or no memo tag) it can belong to


@dataclass(frozen=True, slots=True)
class Credit:
    """The verdict on one transfer: does it count, is it late, and if not, why."""

    credited: bool
    late: bool
    reason: NotCredited | None = None


def credit(
    transfer_asset: str | None,
    invoice_asset: str | None,
    seen_at: datetime,
    expires_at: datetime | None,
    late_window: timedelta,
) -> Credit:
    """Whether a transfer of ``transfer_asset`` seen at ``seen_at`` counts toward an invoice quoted in ``invoice_asset``.

    A late transfer (at or after expiry) inside the monitoring window is credited but flagged late: it never
    moves the status by itself, and the merchant may accept it.
    """
    if invoice_asset is None:
        return Credit(False, False, NotCredited.NO_INVOICE)
    if transfer_asset is None:
        return Credit(False, False, NotCredited.UNKNOWN_TOKEN)
    if transfer_asset != invoice_asset:
        return Credit(False, False, NotCredited.WRONG_ASSET)
    late = expires_at is not None and seen_at >= expires_at
    if late and expires_at is not None and seen_at >= expires_at + late_window:
        return Credit(False, True, NotCredited.AFTER_LATE_WINDOW)
    return Credit(True, late)
