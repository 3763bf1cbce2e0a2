"""SQL of the chain watchers: leader locks, cursors, recent blocks, address matching and deposits; for shared
merchant addresses also the invoices a payment may belong to, the addresses to scan and their cursors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from coinvoice.db.connection import Conn
from coinvoice.domain.transfers import BlockRef

#: How many recent block hashes are kept per chain: the deepest reorg the watcher can follow.
KEEP_BLOCKS = 100


@dataclass(frozen=True, slots=True)
class Cursor:
    height: int
    hash: str


@dataclass(frozen=True, slots=True)
class NewDeposit:
    """One transfer to one of our addresses, with the verdict on whether it counts toward its invoice."""

    company_id: uuid.UUID
    invoice_id: uuid.UUID | None
    address_id: uuid.UUID | None
    address: str
    tag: str | None
    txid: str
    index: int
    asset: str | None
    contract: str | None
    amount_units: int
    late: bool
    credited: bool
    reason: str | None


def leader_key(chain: str) -> str:
    """The advisory-lock key of a chain's watcher (see db/leader.py)."""
    return f"coinvoice.chain_watch.{chain}"


async def get_cursor(conn: Conn, chain: str) -> Cursor | None:
    row = await conn.fetchrow("SELECT height, hash FROM chain_cursors WHERE chain = $1", chain)
    return Cursor(row["height"], row["hash"]) if row else None


async def record_tip(conn: Conn, chain: str, tip: int) -> None:
    """The node's tip as a watcher round begins (for /metrics: lag is this minus the cursor)."""
    await conn.execute(
        "INSERT INTO chain_polls (chain, tip_height, tip_seen_at) VALUES ($1, $2, now())"
        " ON CONFLICT (chain) DO UPDATE SET tip_height = EXCLUDED.tip_height, tip_seen_at = EXCLUDED.tip_seen_at",
        chain,
        tip,
    )


async def record_poll(conn: Conn, chain: str, tip: int) -> None:
    """A round of the chain's watcher succeeded now, up to the node's tip ``tip`` (for /metrics)."""
    await conn.execute(
        "INSERT INTO chain_polls (chain, tip_height, tip_seen_at, polled_at) VALUES ($1, $2, now(), now())"
        " ON CONFLICT (chain) DO UPDATE SET tip_height = EXCLUDED.tip_height, polled_at = EXCLUDED.polled_at",
        chain,
        tip,
    )


async def advance_cursor(conn: Conn, chain: str, block: BlockRef, keep: int = KEEP_BLOCKS) -> None:
    """Remember ``block`` as processed: cursor, its hash among the recent blocks, and prune older ones."""
    await conn.execute(
        "WITH blk AS ("
        "  INSERT INTO chain_blocks (chain, height, hash, prev_hash) VALUES ($1, $2, $3, $4)"
        "  ON CONFLICT (chain, height) DO UPDATE SET hash = EXCLUDED.hash, prev_hash = EXCLUDED.prev_hash),"
        " cur AS ("
        "  INSERT INTO chain_cursors (chain, height, hash, updated_at) VALUES ($1, $2, $3, now())"
        "  ON CONFLICT (chain) DO UPDATE SET height = EXCLUDED.height, hash = EXCLUDED.hash,"
        "   updated_at = EXCLUDED.updated_at)"
        " DELETE FROM chain_blocks WHERE chain = $1 AND height <= $2::int - $5::int",
        chain,
        block.height,
        block.hash,
        block.prev_hash,
        keep,
    )


async def advance_cursor_over(conn: Conn, chain: str, blocks: list[BlockRef], keep: int = KEEP_BLOCKS) -> None:
    """advance_cursor for a run of consecutive blocks that pay us nothing, in one statement."""
    last = blocks[-1]
    await conn.execute(
        "WITH blk AS ("
        "  INSERT INTO chain_blocks (chain, height, hash, prev_hash)"
        "  SELECT $1, h, hs, p FROM unnest($2::int[], $3::text[], $4::text[]) AS u(h, hs, p)"
        "  ON CONFLICT (chain, height) DO UPDATE SET hash = EXCLUDED.hash, prev_hash = EXCLUDED.prev_hash),"
        " cur AS ("
        "  INSERT INTO chain_cursors (chain, height, hash, updated_at) VALUES ($1, $5, $6, now())"
        "  ON CONFLICT (chain) DO UPDATE SET height = EXCLUDED.height, hash = EXCLUDED.hash,"
        "   updated_at = EXCLUDED.updated_at)"
        " DELETE FROM chain_blocks WHERE chain = $1 AND height <= $5::int - $7::int",
        chain,
        [b.height for b in blocks],
        [b.hash for b in blocks],
        [b.prev_hash for b in blocks],
        last.height,
        last.hash,
        keep,
    )


async def recent_blocks(conn: Conn, chain: str, at_most: int) -> list[Cursor]:
    """Stored blocks at or below height ``at_most``, highest first."""
    rows = await conn.fetch(
        "SELECT height, hash FROM chain_blocks WHERE chain = $1 AND height <= $2 ORDER BY height DESC",
        chain,
        at_most,
    )
    return [Cursor(r["height"], r["hash"]) for r in rows]


async def rewind_cursor(conn: Conn, chain: str, fork: Cursor) -> None:
    """Forget every block above the fork and put the cursor on it."""
    await conn.execute("DELETE FROM chain_blocks WHERE chain = $1 AND height > $2", chain, fork.height)
    await conn.execute(
        "INSERT INTO chain_blocks (chain, height, hash) VALUES ($1, $2, $3)"
        " ON CONFLICT (chain, height) DO UPDATE SET hash = EXCLUDED.hash",
        chain,
        fork.height,
        fork.hash,
    )
    await conn.execute(
        "INSERT INTO chain_cursors (chain, height, hash, updated_at) VALUES ($1, $2, $3, now())"
        " ON CONFLICT (chain) DO UPDATE SET height = EXCLUDED.height, hash = EXCLUDED.hash, updated_at = now()",
        chain,
        fork.height,
        fork.hash,
    )


MATCH_ADDRESSES_SQL = (
    "SELECT a.address, a.id AS address_id, a.invoice_id, a.company_id, i.expires_at, i.payment_currency"
    "  FROM unnest($2::text[]) AS o(address)"
    "  JOIN addresses a ON a.chain = $1 AND NOT a.shared AND a.address = o.address"
    "  JOIN invoices i ON i.id = a.invoice_id"
)


async def match_addresses(conn: Conn, chain: str, addresses: list[str]) -> list[asyncpg.Record]:
    """The allocated addresses among ``addresses`` with their invoice's quoted asset and expiry.

    One probe of the hash index on own addresses each (sql/0012): one bucket page per output address, whatever
    the number of allocated addresses (a small table is read whole and hashed instead).
    """
    return await conn.fetch(MATCH_ADDRESSES_SQL, chain, addresses)


#: Rows per fetch when reading the allocated addresses (a full load reads them all without holding them all).
ALLOCATED_CHUNK = 50_000


async def allocated_since(conn: Conn, chain: str, boundary: int | None, take: Callable[[list[str]], None]) -> int:
    """Pass ``take`` the own addresses allocated on ``chain`` since ``boundary`` (all of them when None), chunk
    by chunk; returns the boundary to pass next time: the xmin of the snapshot the rows were read in.

    Exact, also when allocations commit out of order (sql/0018): every transaction older than a snapshot's xmin
    has ended, so a row allocated before the previous read's xmin was visible to that read (or an earlier one),
    and the rows of every later transaction that has committed by now are read here (some again next time,
    while their xmin has not passed: harmless). The xmin and the rows come from one snapshot: one statement
    (pg_current_snapshot() is the statement's own snapshot), or for the full load, read in chunks, a
    REPEATABLE READ transaction. Call outside a transaction.
    """
    query = "SELECT address FROM addresses WHERE chain = $1 AND NOT shared"
    if boundary is not None:  # a few rows: one round trip
        [row] = await conn.fetch(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,"
            f" ARRAY({query} AND allocated_xid >= $2::text::xid8) AS addresses",
            chain,
            str(boundary),
        )
        take(row["addresses"])
        return int(row["xmin"])
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        xmin = await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
        cursor = await conn.cursor(query, chain)
        while rows := await cursor.fetch(ALLOCATED_CHUNK):
            take([r[0] for r in rows])
    return int(xmin)


#: Statuses in which an invoice still waits for payment: its amount due must stay unique on a shared address.
OPEN_STATUSES = ("pending", "processing", "wrong")


async def shared_candidates(
    conn: Conn, chain: str, addresses: list[str], tags: list[str], references: list[str], amounts: list[int]
) -> list[asyncpg.Record]:
    """Invoices on these shared addresses that one of the payments may belong to: by comment, by reference
    key, or (open invoices only) by amount due. Index probes on (chain, address, tag) and (chain, reference)."""
    return await conn.fetch(
        "SELECT a.address, a.id AS address_id, a.invoice_id, a.company_id, a.tag, a.reference,"
        "       i.expires_at, i.payment_currency, i.status = ANY($6::text[]) AS open, q.due_units"
        "  FROM addresses a JOIN invoices i ON i.id = a.invoice_id JOIN quotes q ON q.invoice_id = a.invoice_id"
        " WHERE a.chain = $1 AND a.shared AND a.address = ANY($2::text[])"
        "   AND (a.tag = ANY($3::text[]) OR a.reference = ANY($4::text[])"
        "        OR (i.status = ANY($6::text[]) AND q.due_units = ANY($5::numeric[])))",
        chain,
        addresses,
        tags,
        references,
        [Decimal(a) for a in amounts],
        list(OPEN_STATUSES),
    )


async def shared_owners(conn: Conn, chain: str, addresses: list[str]) -> dict[str, uuid.UUID]:
    """The company behind each of these shared addresses (one per address: the wallet PUT enforces it)."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (address) address, company_id FROM addresses"
        " WHERE chain = $1 AND shared AND address = ANY($2::text[])",
        chain,
        addresses,
    )
    return {r["address"]: r["company_id"] for r in rows}


@dataclass(frozen=True, slots=True)
class Watched:
    """A shared address to scan, and the oldest fill time of the invoices that keep it watched."""

    address: str
    since: datetime


async def watched_addresses(conn: Conn, chain: str, late_since: datetime) -> list[Watched]:
    """Shared addresses with an invoice still open, or expired (or paid) less than the late window ago."""
    rows = await conn.fetch(
        "SELECT a.address, min(i.filled_at) AS since"
        "  FROM addresses a JOIN invoices i ON i.id = a.invoice_id"
        " WHERE a.chain = $1 AND a.shared AND (i.status = ANY($3::text[]) OR i.expires_at > $2)"
        " GROUP BY a.address ORDER BY a.address",
        chain,
        late_since,
        list(OPEN_STATUSES),
    )
    return [Watched(r["address"], r["since"]) for r in rows]


async def get_account_cursor(conn: Conn, chain: str, address: str) -> str | None:
    return await conn.fetchval("SELECT cursor FROM account_cursors WHERE chain = $1 AND address = $2", chain, address)


async def set_account_cursor(conn: Conn, chain: str, address: str, cursor: str) -> None:
    await conn.execute(
        "INSERT INTO account_cursors (chain, address, cursor, updated_at) VALUES ($1, $2, $3, now())"
        " ON CONFLICT (chain, address) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = EXCLUDED.updated_at",
        chain,
        address,
        cursor,
    )


async def unconfirmed_by_address(conn: Conn, chain: str) -> dict[str, tuple[set[str], datetime]]:
    """Deposits not yet final, by address: their txids and the earliest time one of them was seen."""
    rows = await conn.fetch(
        "SELECT address, array_agg(DISTINCT txid) AS txids, min(seen_at) AS since FROM deposits"
        " WHERE chain = $1 AND state = 'seen' GROUP BY address",
        chain,
    )
    return {r["address"]: (set(r["txids"]), r["since"]) for r in rows}


async def orphan_unconfirmed(conn: Conn, chain: str, txids: list[str], now: datetime) -> list[uuid.UUID]:
    """Mark not-yet-final deposits of these transactions orphaned (the node no longer returns them)."""
    rows = await conn.fetch(
        "UPDATE deposits SET state = 'orphaned', confirmations = 0, updated_at = $3"
        " WHERE chain = $1 AND state = 'seen' AND txid = ANY($2::text[]) RETURNING invoice_id",
        chain,
        txids,
        now,
    )
    return _invoices(rows)


async def upsert_deposits(
    conn: Conn,
    *,
    chain: str,
    deposits: list[NewDeposit],
    block: BlockRef | None,
    confirmations: int,
    seen_at: datetime,
    now: datetime,
) -> list[asyncpg.Record]:
    """Insert new deposits; put known ones in ``block`` (or back in the mempool when orphaned).

    Returns the rows inserted or changed, with ``inserted`` telling which; a block seen twice changes nothing.
    Every deposit starts ``seen``: refresh_confirmations confirms it against its own asset's threshold.
    """
    return await conn.fetch(
        "INSERT INTO deposits (id, company_id, invoice_id, address_id, address, tag, chain, txid, output_index,"
        "  asset, contract, amount_units, credited, reason, late, block_height, block_hash, confirmations, state,"
        "  seen_at, updated_at)"
        " SELECT u.id, u.company_id, u.invoice_id, u.address_id, u.address, u.tag, $1, u.txid, u.idx,"
        "  u.asset, u.contract, u.amount, u.credited, u.reason, u.late, $2, $3, $4, 'seen', $5, $6"
        "   FROM unnest($7::uuid[], $8::uuid[], $9::uuid[], $10::uuid[], $11::text[], $12::text[], $13::text[],"
        "               $14::int[], $15::text[], $16::text[], $17::numeric[], $18::bool[], $19::text[], $20::bool[])"
        "     AS u(id, company_id, invoice_id, address_id, address, tag, txid, idx, asset, contract, amount,"
        "          credited, reason, late)"
        " ON CONFLICT (chain, txid, output_index) DO UPDATE"
        "   SET block_height = EXCLUDED.block_height, block_hash = EXCLUDED.block_hash,"
        "       confirmations = EXCLUDED.confirmations, state = 'seen', updated_at = EXCLUDED.updated_at"
        "   WHERE deposits.state = 'orphaned'"
        "      OR (EXCLUDED.block_hash IS NOT NULL AND deposits.block_hash IS DISTINCT FROM EXCLUDED.block_hash)"
        " RETURNING id, invoice_id, company_id, (xmax = 0) AS inserted, late, credited, reason, seen_at, txid,"
        "  output_index, amount_units, asset, contract, address",
        chain,
        block.height if block else None,
        block.hash if block else None,
        confirmations,
        seen_at,
        now,
        [uuid.uuid4() for _ in deposits],
        [d.company_id for d in deposits],
        [d.invoice_id for d in deposits],
        [d.address_id for d in deposits],
        [d.address for d in deposits],
        [d.tag for d in deposits],
        [d.txid for d in deposits],
        [d.index for d in deposits],
        [d.asset for d in deposits],
        [d.contract for d in deposits],
        [Decimal(d.amount_units) for d in deposits],
        [d.credited for d in deposits],
        [d.reason for d in deposits],
        [d.late for d in deposits],
    )


async def orphan_above(conn: Conn, chain: str, height: int, now: datetime) -> list[uuid.UUID]:
    """Mark deposits in blocks above ``height`` orphaned; returns the invoices they belong to."""
    rows = await conn.fetch(
        "UPDATE deposits SET state = 'orphaned', confirmations = 0, updated_at = $3"
        " WHERE chain = $1 AND block_height > $2 AND state <> 'orphaned' RETURNING invoice_id",
        chain,
        height,
        now,
    )
    return _invoices(rows)


async def orphan_txids(conn: Conn, chain: str, txids: list[str], now: datetime) -> list[uuid.UUID]:
    """Mark still-unmined deposits of these transactions orphaned (they left the mempool unmined)."""
    rows = await conn.fetch(
        "UPDATE deposits SET state = 'orphaned', confirmations = 0, updated_at = $3"
        " WHERE chain = $1 AND state = 'seen' AND block_height IS NULL AND txid = ANY($2::text[])"
        " RETURNING invoice_id",
        chain,
        txids,
        now,
    )
    return _invoices(rows)


async def unmined_txids(conn: Conn, chain: str) -> set[str]:
    """Transactions of deposits seen only in the mempool so far."""
    rows = await conn.fetch(
        "SELECT DISTINCT txid FROM deposits WHERE chain = $1 AND state = 'seen' AND block_height IS NULL", chain
    )
    return {r["txid"] for r in rows}


async def refresh_confirmations(
    conn: Conn, chain: str, tip: int, needed: Mapping[str, int], default: int, window: int, now: datetime
) -> list[uuid.UUID]:
    """Confirmations = tip - height + 1 for unconfirmed and recent deposits, in one UPDATE.

    A deposit becomes ``confirmed`` at its own asset's threshold (``needed``, else ``default``); returns the
    invoices of the deposits that became confirmed just now.
    """
    rows = await conn.fetch(
        "WITH need AS (SELECT * FROM unnest($6::text[], $7::int[]) AS n(asset, confirmations))"
        " UPDATE deposits d"
        "   SET confirmations = greatest($2::int - d.block_height + 1, 0),"
        "       state = CASE WHEN d.state = 'confirmed' OR $2::int - d.block_height + 1 >= coalesce(n.confirmations, $3::int)"
        "                    THEN 'confirmed' ELSE 'seen' END,"
        "       updated_at = $5"
        "  FROM deposits old LEFT JOIN need n ON n.asset = old.asset"
        " WHERE old.id = d.id AND d.chain = $1 AND d.block_height IS NOT NULL AND d.state <> 'orphaned'"
        "   AND (d.state = 'seen' OR d.block_height > $2::int - $4::int)"
        "   AND (d.confirmations <> greatest($2::int - d.block_height + 1, 0)"
        "        OR (d.state = 'seen' AND $2::int - d.block_height + 1 >= coalesce(n.confirmations, $3::int)))"
        " RETURNING d.invoice_id, d.credited, old.state AS old_state, d.state AS new_state",
        chain,
        tip,
        default,
        window,
        now,
        list(needed),
        list(needed.values()),
    )
    return list(
        dict.fromkeys(
            r["invoice_id"]
            for r in rows
            if r["old_state"] != r["new_state"] and r["credited"] and r["invoice_id"] is not None
        )
    )


def _invoices(rows: list[asyncpg.Record]) -> list[uuid.UUID]:
    """The distinct invoices of deposit rows, in order (deposits belonging to no invoice left out)."""
    return list(dict.fromkeys(r["invoice_id"] for r in rows if r["invoice_id"] is not None))


async def lock_invoice_facts(conn: Conn, invoice_id: uuid.UUID) -> asyncpg.Record | None:
    """The invoice's status inputs, its row locked until the transaction ends."""
    return await conn.fetchrow(
        "SELECT i.id, i.company_id, i.kind, i.status, i.expires_at, i.resolution, i.payment_currency,"
        "       q.due_units, q.decimals"
        "  FROM invoices i LEFT JOIN quotes q ON q.invoice_id = i.id"
        " WHERE i.id = $1 FOR UPDATE OF i",
        invoice_id,
    )


async def invoice_deposits(conn: Conn, invoice_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT amount_units, confirmations, seen_at, state, accepted_at IS NOT NULL AS accepted FROM deposits"
        " WHERE invoice_id = $1 AND credited",
        invoice_id,
    )
