"""The adapter protocols the watchers drive (blocks for the block follower, one address's history for the account
scanner), and the errors adapters raise."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from coinvoice.domain.transfers import BlockRef, Transfer

__all__ = [
    "AccountAdapter",
    "AccountEntry",
    "Block",
    "BlockGone",
    "BlockRef",
    "ChainAdapter",
    "ChainMisconfigured",
    "NodeUnavailable",
    "Transfer",
]


class NodeUnavailable(Exception):
    """The node could not be reached or answered garbage; the follower backs off and retries."""


class BlockGone(Exception):
    """A block asked for no longer exists at that height: the chain got shorter while we read it."""


class ChainMisconfigured(Exception):
    """The node is not the chain the settings describe (chain id, token decimals): the watcher stops."""


@dataclass(slots=True)
class Block:
    """A fetched block: its reference plus whatever the adapter needs to find transfers in it."""

    ref: BlockRef
    data: Any = None
    addresses: set[str] = field(default_factory=set)  # every address it may pay (cheap to compute)


@dataclass(frozen=True, slots=True)
class PendingScan:
    """Transfers waiting in the mempool, and every transaction id the mempool holds now."""

    transfers: list[Transfer]
    txids: set[str]


class NodeReader(Protocol):
    """What every watcher asks of its adapter: which chain it reads, and whether the node really is that chain."""

    chain: str

    async def check(self) -> None:
        """Verify the node is the configured chain; raise ChainMisconfigured otherwise (once, at start)."""
        ...


class ChainAdapter(NodeReader, Protocol):
    """One chain family's reading of a node: blocks in, transfers out. The follower does everything else."""

    async def tip(self) -> int: ...

    async def block_hashes(self, heights: list[int]) -> dict[int, str]:
        """The node's hash at each height (heights above the tip are left out)."""
        ...

    async def fetch_blocks(self, first: int, last: int) -> list[Block]:
        """Blocks first..last in order; BlockGone when the chain ends below ``last``."""
        ...

    async def transfers(self, block: Block, ours: Collection[str]) -> list[Transfer]:
        """The block's transfers to the addresses in ``ours`` (those of block.addresses we allocated)."""
        ...

    async def pending(self) -> PendingScan | None:
        """Transfers in the mempool (None where the adapter does not watch one)."""
        ...

    def forget_pending(self) -> None:
        """Drop what the adapter remembers of the mempool (after a reorg)."""
        ...


@dataclass(frozen=True, slots=True)
class AccountEntry:
    """One transaction in an address's history: the cursor that points at it, its time, what the adapter keeps."""

    cursor: str
    time: int | None
    data: Any = None


class AccountAdapter(NodeReader, Protocol):
    """A shared-address family's reading of a node: one address's transactions since a cursor, into transfers.

    The account scanner does everything else (leader, backoff, cursors, crediting, confirmations, reversals).
    """

    async def tip(self) -> int:
        """The height confirmations count from (Solana: the finalized slot; TON: the last masterchain block)."""
        ...

    async def history(self, address: str, cursor: str | None, since: int) -> list[AccountEntry]:
        """The address's transactions after ``cursor`` (all of them back to unix time ``since`` when the cursor
        is None or older), oldest first."""
        ...

    async def transfers(self, address: str, entries: list[AccountEntry]) -> list[Transfer]:
        """The value these transactions brought to ``address``; failed, bounced or outgoing ones bring none."""
        ...

    async def still_there(self, address: str, txids: Collection[str], since: int) -> set[str]:
        """Which of these transactions (seen since unix time ``since``) the node still returns."""
        ...
