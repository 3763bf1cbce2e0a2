"""New invoices and their creation events, written by group commit: one statement and one transaction for every
create that arrives while the previous statement is still running (docs/design-notes.md, "Creates are group
committed").

Each invoice still commits with its own event; a batch only shares the transaction. If a batch fails on a row
(the database names no row), its rows are written one by one, so that only the bad one fails.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from coinvoice.db.connection import ConnOrPool
from coinvoice.jsonenc import dumps

log = logging.getLogger(__name__)

#: Rows of one statement at most; more wait for the next.
MAX_BATCH = 64

# one array a column; `new` is read twice, so PostgreSQL materialises it once. JSON goes as text: asyncpg would
# take a JSON array (the items) for one more dimension of the array parameter
INSERT_SQL = """
WITH new AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::numeric[], $6::boolean[], $7::text[],
                       $8::text[], $9::text[], $10::bytea[], $11::timestamptz[], $12::uuid[], $13::text[],
                       $14::text[], $15::text[])
    AS t(id, company_id, invoice_currency, items, total, merchant_pays_fee, preset_currency, redirect_url,
         idempotency_key, request_hash, created_at, event_id, event_type, payload, request_id)
), inv AS (
  INSERT INTO invoices (id, company_id, status, invoice_currency, items, total, merchant_pays_fee, preset_currency,
                        redirect_url, idempotency_key, request_hash, created_at, updated_at)
  SELECT id, company_id, 'created', invoice_currency, items::jsonb, total, merchant_pays_fee, preset_currency,
         redirect_url, idempotency_key, request_hash, created_at, created_at FROM new
  ON CONFLICT (company_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id
), ev AS (
  INSERT INTO events (id, company_id, invoice_id, type, status, payload, created_at, request_id)
  SELECT n.event_id, n.company_id, n.id, n.event_type, 'created', n.payload::json, n.created_at, n.request_id
    FROM new n JOIN inv USING (id)
  RETURNING invoice_id
)
SELECT invoice_id FROM ev
"""

_INVOICE_COLUMNS = (
    "id",
    "company_id",
    "invoice_currency",
    "items",
    "total",
    "merchant_pays_fee",
    "preset_currency",
    "redirect_url",
    "idempotency_key",
    "request_hash",
    "created_at",
)

Pending = tuple[dict[str, Any], dict[str, Any], "asyncio.Future[bool]"]


async def insert_many(conn: ConnOrPool, rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> set[Any]:
    """Insert (invoice row, creation event) pairs in one statement; returns the ids written. An invoice whose
    company already used its idempotency key is not written, and neither is its event."""
    args = [[dumps(row[c]) if c == "items" else row[c] for row, _ in rows] for c in _INVOICE_COLUMNS]
    args += [[event["id"] for _, event in rows], [event["type"] for _, event in rows]]
    args += [[dumps(event["payload"]) for _, event in rows], [event.get("request_id") for _, event in rows]]
    return {r[0] for r in await conn.fetch(INSERT_SQL, *args)}


class InvoiceInserts:
    """Group commit for one pool: a create that arrives while a batch is running waits for it and goes in the
    next one, with every other create that arrived meanwhile. An idle gateway writes each create at once."""

    def __init__(self, pool: asyncpg.Pool, on_batch: Callable[[int], object] | None = None) -> None:
        self._pool = pool
        self._on_batch = on_batch  # told each batch's size (a metric)
        self._waiting: list[Pending] = []
        self._running: asyncio.Task[None] | None = None

    async def insert(self, row: dict[str, Any], event: dict[str, Any]) -> bool:
        """Insert the invoice and its creation event; False (nothing written) if the company already used the
        invoice's idempotency key."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieve)  # a request that went away leaves no "never retrieved" warning behind
        self._waiting.append((row, event, done))
        if self._running is None:  # in a context of its own: its log lines are not the first request's
            self._running = asyncio.create_task(self._drain(), context=contextvars.Context())
        return await asyncio.shield(done)  # a request that goes away does not take the batch with it

    async def close(self) -> None:
        """Wait for the batches already started (an app's shutdown, before its pool closes)."""
        while self._running is not None:
            await asyncio.shield(self._running)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                if self._on_batch is not None:
                    self._on_batch(len(batch))
                await self._write(batch)
        finally:
            self._running = None

    async def _write(self, batch: list[Pending]) -> None:
        try:
            written = await insert_many(self._pool, [(row, event) for row, event, _ in batch])
        except asyncpg.PostgresError as exc:
            if len(batch) == 1:
                _settle(batch[0][2], exc)
                return
            # a row the database refused: write them one by one, so only that row's create fails
            log.warning("a batch of %d new invoices failed (%s); writing them one by one", len(batch), exc)
            for pending in batch:
                await self._write([pending])
            return
        except BaseException as exc:  # the database is unreachable: every create in the batch gets the error
            for _, _, done in batch:
                _settle(done, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for row, _, done in batch:
            if not done.done():
                done.set_result(row["id"] in written)


def _retrieve(done: asyncio.Future[bool]) -> None:
    if not done.cancelled():
        done.exception()


def _settle(done: asyncio.Future[bool], exc: BaseException) -> None:
    if done.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        done.cancel()
    else:
        done.set_exception(exc)
