"""SQL for the webhook queue: claim due deliveries (SKIP LOCKED, per-invoice order), record attempts, list."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from coinvoice.db.connection import Conn, ConnOrPool

CHANNEL = "coinvoice_webhooks"

# The claim and the outcome are committed without waiting for the WAL flush (synchronous_commit off for that
# one statement's transaction): a claim or an outcome lost in a database crash only makes the delivery due
# again, so it is sent again (at least once), never lost. Everything the merchant's state depends on (the
# invoice, its event and the delivery row itself) was committed durably by the writer.
ASYNC_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
MAX_EXAMINED = 1000

# Due, not held by a live lease, and no earlier event of the same invoice still pending; fair between
# endpoints (companies): each company with pending rows (found by a skip scan of the pending partition's
# company index) gives at most its share, $4 ($6 for the companies in $5), oldest due first; the shares
# together are ordered by due time and cut at $1. Per company, the ordering check looks at its
# MAX_EXAMINED oldest due rows only, so a merchant with a long backlog blocked behind failing deliveries
# costs every claim a bounded amount (it delays only that merchant's own later events).
# The lease is leased_until (in no index, so a claim is a HOT update: sql/0013): a sender that dies leaves the
# row claimable again when it ends.
# The claimed rows are updated by their ctid (locked, so it cannot change): a TID scan whatever the planner's
# statistics of a queue that filled up a moment ago say.
CLAIM_SQL = f"""
WITH RECURSIVE pending_company AS (
    (SELECT company_id AS id FROM webhook_deliveries WHERE state = 'pending' ORDER BY company_id LIMIT 1)
  UNION ALL
    SELECT (SELECT d.company_id FROM webhook_deliveries d
             WHERE d.state = 'pending' AND d.company_id > c.id ORDER BY d.company_id LIMIT 1)
      FROM pending_company c WHERE c.id IS NOT NULL),
share AS (
    SELECT c.id AS company_id, coalesce(q.free, $4) AS free
      FROM pending_company c LEFT JOIN unnest($5::uuid[], $6::int[]) AS q(company_id, free) ON q.company_id = c.id
     WHERE c.id IS NOT NULL),
cand AS (
    SELECT s.id, s.next_attempt_at FROM share, LATERAL (
        SELECT o.id, o.next_attempt_at FROM (
            SELECT d.id, d.invoice_id, d.event_seq, d.next_attempt_at FROM webhook_deliveries d
             WHERE d.state = 'pending' AND d.company_id = share.company_id AND d.next_attempt_at <= now()
               AND (d.leased_until IS NULL OR d.leased_until <= now())
             ORDER BY d.next_attempt_at
             LIMIT {MAX_EXAMINED}) o
         WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                            WHERE p.invoice_id = o.invoice_id AND p.state = 'pending' AND p.event_seq < o.event_seq)
         LIMIT share.free) s
     WHERE share.free > 0),
due AS (
    SELECT d.ctid AS tid FROM webhook_deliveries_pending d JOIN cand ON cand.id = d.id
     WHERE d.state = 'pending' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until <= now())
     ORDER BY cand.next_attempt_at
     LIMIT $1
       FOR UPDATE OF d SKIP LOCKED)
UPDATE webhook_deliveries_pending w
   SET leased_until = now() + make_interval(secs => $2), claim_token = $3,
       attempts = w.attempts + 1, updated_at = now()
  FROM events e, companies c, {ASYNC_COMMIT}
 WHERE w.ctid = ANY(ARRAY(SELECT tid FROM due)) AND e.id = w.event_id AND c.id = w.company_id
RETURNING w.id, w.event_id, w.company_id, w.attempts, w.window_started_at, e.payload::text AS body, c.webhook_url,
          w.invoice_id, e.request_id,
          ARRAY(SELECT t.key_salt FROM api_tokens t
                 WHERE t.company_id = w.company_id AND t.kind = 'secret' AND t.key_salt IS NOT NULL
                   AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
                 ORDER BY t.created_at DESC, t.id DESC) AS key_salts
"""

# One statement records a batch of outcomes: the attempts, and each delivery's new state — only
# while the reporting sender still holds the claim (a sender whose lease ran out reports its attempt only).
FINISH_SQL = f"""
WITH r AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::text[],
                         $7::int[], $8::timestamptz[], $9::timestamptz[], $10::text[])
        AS r(id, token, state, url, status_code, error, duration_ms, attempted_at, next_at, response_excerpt)),
att AS (
    INSERT INTO webhook_attempts (delivery_id, attempted_at, url, status_code, error, duration_ms, response_excerpt)
    SELECT id, attempted_at, url, status_code, error, duration_ms, response_excerpt FROM r)
UPDATE webhook_deliveries w
   SET state = r.state, next_attempt_at = coalesce(r.next_at, w.next_attempt_at), claim_token = NULL,
       leased_until = NULL,
       last_status_code = r.status_code, last_error = r.error, updated_at = now(),
       delivered_at = CASE WHEN r.state = 'delivered' THEN r.attempted_at ELSE w.delivered_at END
  FROM r, {ASYNC_COMMIT}
 WHERE w.state = 'pending' AND w.id = ANY($1::uuid[]) AND w.id = r.id AND w.claim_token = r.token
"""


@dataclass(frozen=True, slots=True)
class Claimed:
    id: uuid.UUID
    event_id: uuid.UUID
    company_id: uuid.UUID
    attempts: int
    window_started_at: datetime
    body: bytes  # the event payload exactly as written (a json column keeps the text): the same bytes on every retry
    url: str | None
    key_salts: list[bytes]
    invoice_id: uuid.UUID | None = None
    request_id: str | None = None  # X-Request-Id of the request that caused the event, for the log lines


@dataclass(frozen=True, slots=True)
class Outcome:
    id: uuid.UUID
    state: str  # delivered | pending (retry at next_at) | failed
    url: str | None
    status_code: int | None
    error: str | None
    duration_ms: int
    attempted_at: datetime
    next_at: datetime | None
    response_excerpt: str | None = None  # the start of the receiver's answer


async def claim_due(
    pool: asyncpg.Pool,
    limit: int,
    lease_seconds: float,
    token: uuid.UUID,
    *,
    per_company: int | None = None,
    free: Mapping[uuid.UUID, int] | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries, at most ``per_company`` of one company, or ``free[company]`` for
    the companies in ``free`` (0: none of theirs)."""
    per_company = limit if per_company is None else per_company
    free = free or {}
    try:
        rows = await pool.fetch(CLAIM_SQL, limit, lease_seconds, token, per_company, list(free), list(free.values()))
    except asyncpg.TransactionRollbackError:  # a row moved to the done partition under the claim: claim again
        return []
    return [
        Claimed(
            r["id"],
            r["event_id"],
            r["company_id"],
            r["attempts"],
            r["window_started_at"],
            r["body"].encode(),
            r["webhook_url"],
            [bytes(s) for s in r["key_salts"]],
            r["invoice_id"],
            r["request_id"],
        )
        for r in rows
    ]


async def finish(pool: asyncpg.Pool, token: uuid.UUID, outcomes: list[Outcome]) -> None:
    if not outcomes:
        return
    await pool.execute(
        FINISH_SQL,
        [o.id for o in outcomes],
        [token] * len(outcomes),
        [o.state for o in outcomes],
        [o.url for o in outcomes],
        [o.status_code for o in outcomes],
        [o.error for o in outcomes],
        [o.duration_ms for o in outcomes],
        [o.attempted_at for o in outcomes],
        [o.next_at for o in outcomes],
        [o.response_excerpt for o in outcomes],
    )


async def release(pool: asyncpg.Pool, token: uuid.UUID, ids: list[uuid.UUID]) -> None:
    """Give back claims whose requests were abandoned (shutdown): due again now, attempt not counted."""
    await pool.execute(
        "UPDATE webhook_deliveries SET claim_token = NULL, leased_until = NULL,"
        " attempts = greatest(attempts - 1, 0), updated_at = now()"
        " WHERE id = ANY($1::uuid[]) AND claim_token = $2 AND state = 'pending'",
        ids,
        token,
    )


async def seconds_until_next_due(pool: asyncpg.Pool) -> float | None:
    """Seconds until the earliest sendable delivery is due (<= 0: now), or None when none is waiting."""
    value = await pool.fetchval(
        "SELECT extract(epoch FROM min(greatest(d.next_attempt_at, d.leased_until)) - now())::float8"
        " FROM webhook_deliveries d"
        " WHERE d.state = 'pending' AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p"
        "  WHERE p.invoice_id = d.invoice_id AND p.state = 'pending' AND p.event_seq < d.event_seq)"
    )
    return None if value is None else float(value)  # seconds, not money


DELIVERY_COLUMNS = """
d.id, d.event_id, d.event_seq, d.invoice_id, e.type, d.state, d.attempts,
greatest(d.next_attempt_at, d.leased_until) AS next_attempt_at, d.last_status_code,
d.last_error, d.delivered_at, d.created_at,
(SELECT coalesce(json_agg(json_build_object(
          'attemptedAt', a.attempted_at, 'url', a.url, 'statusCode', a.status_code, 'error', a.error,
          'durationMs', a.duration_ms, 'responseExcerpt', a.response_excerpt) ORDER BY a.id DESC), '[]')
   FROM (SELECT * FROM webhook_attempts WHERE delivery_id = d.id ORDER BY id DESC LIMIT 20) a) AS recent_attempts,
(SELECT count(*) FROM webhook_attempts WHERE delivery_id = d.id) AS attempt_count
"""


async def list_deliveries(
    conn: ConnOrPool,
    company_id: uuid.UUID,
    *,
    state: str | None,
    invoice_id: uuid.UUID | None,
    before_seq: int | None,
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id"
        " WHERE d.company_id = $1 AND ($2::text IS NULL OR d.state = $2)"
        " AND ($3::uuid IS NULL OR d.invoice_id = $3) AND ($4::bigint IS NULL OR d.event_seq < $4)"
        " ORDER BY d.event_seq DESC LIMIT $5",
        company_id,
        state,
        invoice_id,
        before_seq,
        limit,
    )


async def get_delivery(conn: ConnOrPool, company_id: uuid.UUID, delivery_id: uuid.UUID):
    return await conn.fetchrow(
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id"
        " WHERE d.company_id = $1 AND d.id = $2",
        company_id,
        delivery_id,
    )


async def redeliver(conn: Conn, company_id: uuid.UUID, delivery_id: uuid.UUID) -> bool:
    """Queue a delivery again now with a fresh retry window; False when the company has no such delivery.

    A delivery a sender holds right now is left alone (its outcome is about to be recorded).
    """
    row = await conn.fetchrow(
        "SELECT state, claim_token FROM webhook_deliveries WHERE id = $1 AND company_id = $2 FOR UPDATE",
        delivery_id,
        company_id,
    )
    if row is None:
        return False
    if row["claim_token"] is None:
        await conn.execute(
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = now(), leased_until = NULL, attempts = 0,"
            " window_started_at = now(), updated_at = now() WHERE id = $1",
            delivery_id,
        )
        await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
    return True


async def delete_delivered_before(pool: asyncpg.Pool, before: datetime, batch: int = 5000) -> int:
    """Delete up to ``batch`` deliveries delivered before ``before``, with their attempts; how many were deleted.

    Failed deliveries are kept (a merchant may still redeliver them); so is every event.
    """
    async with pool.acquire() as conn, conn.transaction():
        ids = await conn.fetch(
            "DELETE FROM webhook_deliveries WHERE (id, state) IN (SELECT id, state FROM webhook_deliveries"
            "  WHERE state = 'delivered' AND delivered_at < $1 ORDER BY delivered_at LIMIT $2)"
            " RETURNING id",
            before,
            batch,
        )
        await conn.execute("DELETE FROM webhook_attempts WHERE delivery_id = ANY($1::uuid[])", [r["id"] for r in ids])
    return len(ids)
