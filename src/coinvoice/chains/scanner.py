"""AccountScanner: one leader per chain reads the history of each shared merchant address (Solana, TON) into
deposits, for any family whose invoices share an address.

Such chains are not followed block by block: every round reads, for each address that has an invoice open
(or inside the late-payment window), the transactions after that address's cursor, in chunks of one database
transaction each (deposits and the cursor together). Deposits not yet final are re-checked every round: one the
node no longer returns (two rounds in a row) is orphaned, which reverses its invoice. Leadership and backoff
are `chains/leadership.py`'s; a family's AccountAdapter only turns one address's history into transfers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import groupby

import asyncpg

from coinvoice.chains.base import AccountAdapter, AccountEntry
from coinvoice.chains.leadership import MAX_BACKOFF_SECONDS, ChainWatcher
from coinvoice.config import Settings
from coinvoice.db import chain_watch as db
from coinvoice.db.connection import Conn
from coinvoice.services import deposits

#: Transactions read and recorded per database transaction.
CHUNK = 50
#: How long before an invoice's fill a fresh cursor starts reading: clocks of chain and gateway may differ.
CLOCK_MARGIN = timedelta(minutes=10)


class AccountScanner(ChainWatcher):
    """Scans the shared addresses of one chain: history since a cursor per address, reversals, confirmations."""

    adapter: AccountAdapter

    def __init__(
        self,
        adapter: AccountAdapter,
        settings: Settings,
        pool: asyncpg.Pool,
        *,
        chunk: int = CHUNK,
        max_backoff: float = MAX_BACKOFF_SECONDS,
    ) -> None:
        super().__init__(adapter, settings, pool, max_backoff=max_backoff)
        self._chunk = chunk
        self._missing: set[str] = set()  # unconfirmed deposits' txids the node did not return last round

    async def _poll_as_leader(self, conn: Conn) -> int:
        tip = await self.adapter.tip()
        await db.record_tip(conn, self.chain, tip)
        late_since = _now() - timedelta(hours=self._settings.late_payment_hours)
        for watched in await db.watched_addresses(conn, self.chain, late_since):
            await self._scan(conn, watched, tip)
        await self._recheck_unconfirmed(conn)
        async with conn.transaction():
            await deposits.refresh_confirmations(conn, self._settings, self.chain, tip, _now())
        return tip

    async def _scan(self, conn: Conn, watched: db.Watched, tip: int) -> None:
        """Record the address's new transactions oldest first, moving its cursor with each chunk."""
        cursor = await db.get_account_cursor(conn, self.chain, watched.address)
        since = int((watched.since - CLOCK_MARGIN).timestamp())
        entries = await self.adapter.history(watched.address, cursor, since)
        if entries and cursor is None:
            self.log.info("%s: reading %s from %d transactions back", self.chain, watched.address, len(entries))
        for chunk in _chunks(entries, self._chunk):
            transfers = await self.adapter.transfers(watched.address, chunk)
            async with conn.transaction():
                for block, group in groupby(transfers, key=lambda t: t.block):
                    await deposits.record_transfers(
                        conn,
                        self._settings,
                        chain=self.chain,
                        transfers=list(group),
                        block=block,
                        tip=tip,
                        now=_now(),
                    )
                await db.set_account_cursor(conn, self.chain, watched.address, chunk[-1].cursor)

    async def _recheck_unconfirmed(self, conn: Conn) -> None:
        """Reverse deposits whose transaction the node has stopped returning, two rounds in a row."""
        unconfirmed = await db.unconfirmed_by_address(conn, self.chain)
        missing: set[str] = set()
        for address, (txids, seen) in unconfirmed.items():
            there = await self.adapter.still_there(address, txids, int((seen - CLOCK_MARGIN).timestamp()))
            missing |= txids - there
        gone = sorted(missing & self._missing)
        self._missing = missing - set(gone)
        if not gone:
            return
        async with conn.transaction():
            hit = await deposits.reverse_vanished(conn, self._settings, self.chain, gone, _now())
        self.log.warning(
            "%s: %d transactions are no longer returned by the node; %d invoices recomputed", self.chain, len(gone), hit
        )


def _chunks(entries: list[AccountEntry], size: int) -> Iterator[list[AccountEntry]]:
    for start in range(0, len(entries), size):
        yield entries[start : start + size]


def _now() -> datetime:
    return datetime.now(UTC)
