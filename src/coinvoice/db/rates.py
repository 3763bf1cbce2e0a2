"""SQL of the rate cache: provider observations, network-fee estimates, and the refresh job's leader lock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from coinvoice.db.connection import Conn, ConnOrPool
from coinvoice.domain.network_fees import NetworkFee
from coinvoice.domain.rates import Observation

REFRESH_LOCK_KEY = "coinvoice.rates.refresh"


async def load_observations(conn: ConnOrPool, providers: Sequence[str]) -> dict[str, list[Observation]]:
    """The cached observations of ``providers``, by provider."""
    rows = await conn.fetch(
        "SELECT provider, base, quote, rate, observed_at FROM rate_observations WHERE provider = ANY($1::text[])",
        list(providers),
    )
    by_provider: dict[str, list[Observation]] = {p: [] for p in providers}
    for r in rows:
        by_provider[r["provider"]].append(Observation(r["base"], r["quote"], r["rate"], r["observed_at"]))
    return by_provider


async def store_observations(conn: Conn, provider: str, observations: Sequence[Observation]) -> None:
    """Upsert a provider's good observations; pairs it did not answer keep their older row (and age out)."""
    if not observations:
        return
    await conn.execute(
        "INSERT INTO rate_observations AS o (provider, base, quote, rate, observed_at)"
        " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::numeric[], $5::timestamptz[])"
        " ON CONFLICT (provider, base, quote) DO UPDATE SET rate = EXCLUDED.rate,"
        "  observed_at = EXCLUDED.observed_at, stored_at = now()"
        " WHERE o.observed_at <= EXCLUDED.observed_at",
        provider,
        [o.base for o in observations],
        [o.quote for o in observations],
        [o.rate for o in observations],
        [o.observed_at for o in observations],
    )


async def load_fee_estimates(conn: ConnOrPool) -> dict[str, NetworkFee]:
    rows = await conn.fetch("SELECT payment_asset, coin, fee, source, observed_at FROM network_fee_estimates")
    return {
        r["payment_asset"]: NetworkFee(r["payment_asset"], r["coin"], r["fee"], r["source"], r["observed_at"])
        for r in rows
    }


async def store_fee_estimates(conn: Conn, estimates: Sequence[NetworkFee]) -> None:
    if not estimates:
        return
    await conn.execute(
        "INSERT INTO network_fee_estimates (payment_asset, coin, fee, source, observed_at)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::text[], $5::timestamptz[])"
        " ON CONFLICT (payment_asset) DO UPDATE SET coin = EXCLUDED.coin, fee = EXCLUDED.fee,"
        "  source = EXCLUDED.source, observed_at = EXCLUDED.observed_at",
        [e.payment_asset for e in estimates],
        [e.coin for e in estimates],
        [e.amount for e in estimates],
        [e.source for e in estimates],
        [e.observed_at for e in estimates],
    )


async def previous_rates(conn: Conn, provider: str, since: datetime) -> dict[tuple[str, str], Decimal]:
    """The provider's cached rates observed after ``since``: the reference for the absurd-jump check."""
    rows = await conn.fetch(
        "SELECT base, quote, rate FROM rate_observations WHERE provider = $1 AND observed_at > $2", provider, since
    )
    return {(r["base"], r["quote"]): r["rate"] for r in rows}
