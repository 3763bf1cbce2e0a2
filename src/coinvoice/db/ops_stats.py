"""Operational figures read at scrape time: invoices by status, webhook deliveries, chain cursors and polls."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from coinvoice.db.connection import ConnOrPool


@dataclass(frozen=True, slots=True)
class OpsStats:
    invoices_by_status: dict[str, int]
    deliveries_by_state: dict[str, int]
    oldest_pending_delivery: datetime | None
    cursors: dict[str, tuple[int, datetime]]  # chain -> (height, last advanced)
    now: datetime
    #: chain -> (the node's tip as the watcher's latest round began, when its last round succeeded or None)
    polls: dict[str, tuple[int, datetime | None]] = field(default_factory=dict)


async def ops_stats(conn: ConnOrPool) -> OpsStats:
    invoices = await conn.fetch("SELECT status, count(*) AS n FROM invoices GROUP BY status")
    deliveries = await conn.fetch("SELECT state, count(*) AS n FROM webhook_deliveries GROUP BY state")
    oldest = await conn.fetchval("SELECT min(created_at) FROM webhook_deliveries WHERE state = 'pending'")
    cursors = await conn.fetch("SELECT chain, height, updated_at FROM chain_cursors")
    polls = await conn.fetch("SELECT chain, tip_height, polled_at FROM chain_polls")
    return OpsStats(
        {r["status"]: r["n"] for r in invoices},
        {r["state"]: r["n"] for r in deliveries},
        oldest,
        {r["chain"]: (r["height"], r["updated_at"]) for r in cursors},
        await conn.fetchval("SELECT now()"),
        {r["chain"]: (r["tip_height"], r["polled_at"]) for r in polls},
    )
