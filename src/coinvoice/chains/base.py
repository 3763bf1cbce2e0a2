"""Types shared by every chain watcher: block references, transfers, and the ChainWatcher protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block as the watcher remembers it: enough to follow the chain and detect a reorg."""

    height: int
    hash: str
    prev_hash: str | None
    time: int | None


@dataclass(frozen=True, slots=True)
class Transfer:
    """Value sent to one address by one transaction output (UTXO) or log (EVM).

    ``index`` is the output index for UTXO chains and the log index for EVM chains;
    ``block`` is None while the transaction is only in the mempool.
    """

    chain: str
    txid: str
    index: int
    address: str
    amount_units: int
    asset: str
    block: BlockRef | None


class ChainWatcher(Protocol):
    """Something a scheduler polls to bring one chain's deposits up to date."""

    chain: str

    async def poll(self) -> None: ...
