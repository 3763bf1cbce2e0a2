"""The wire shape of an invoice (Solopayment regular-invoice family), built from one view row."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg

from coinvoice.config import Settings
from coinvoice.domain.assets import COMPANY_ASSETS, PAYMENT_ASSETS
from coinvoice.domain.billing import billing_fields
from coinvoice.domain.money import fmt, from_base_units


def wire_time(value: datetime | str | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a Z, as the wire shows times."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _company(row: asyncpg.Record | Mapping[str, Any]) -> dict[str, Any]:
    allowed = row["assets"]
    return {
        "name": row["company_name"],
        "logoUrl": row["logo_url"],
        "assets": [{"asset": a, "isAllowed": bool(allowed.get(a, False))} for a in COMPANY_ASSETS],
    }


def unlimited_view(row: asyncpg.Record | Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """An any-amount invoice: no price; once filled, its address and the running total received per asset
    (every credited deposit that was not reorganised away, and how much of it is confirmed)."""
    view: dict[str, Any] = {
        "id": str(row["id"]),
        "kind": "unlimited",
        "status": row["status"],
        "createdAt": wire_time(row["created_at"]),
        "company": _company(row),
        "paymentCurrency": row["payment_currency"] or row["preset_currency"],
        "description": row["description"],
        "reference": row["external_reference"],
        "metadata": row["metadata"] or {},
        "redirectURL": row["redirect_url"],
        "hostedUrl": f"{settings.public_url.rstrip('/')}/{row['id']}",
        "received": [],
    }
    if row["filled_at"] is None:
        return view
    code = row["payment_currency"]
    chain_settings = settings.chain(row["chain"])
    live = [d for d in row["deposits"] if d["state"] != "orphaned"]
    totals: dict[str, list[int]] = {}
    for d in live:
        need = settings.confirmations_for(d["asset"])
        got = totals.setdefault(d["asset"], [0, 0])
        got[0] += int(d["amount_units"])
        got[1] += int(d["amount_units"]) if d["confirmations"] >= need else 0
    if code not in totals:
        totals[code] = [0, 0]
    view["received"] = [
        {
            "asset": asset,
            "amount": fmt(from_base_units(units, PAYMENT_ASSETS[asset].decimals)),
            "confirmed": fmt(from_base_units(confirmed, PAYMENT_ASSETS[asset].decimals)),
            "count": sum(1 for d in live if d["asset"] == asset),
        }
        for asset, (units, confirmed) in totals.items()
    ]
    view["clientEmail"] = row["client_email"]
    view["address"] = {"id": str(row["address_id"]), "address": row["address"], "tag": row["tag"], "asset": code}
    view["invoiceTransactions"] = [
        {
            "id": d["id"],
            "amount": fmt(from_base_units(int(d["amount_units"]), PAYMENT_ASSETS[d["asset"]].decimals)),
            "asset": d["asset"],
            "txHash": chain_settings.explorer_tx_url.format(txid=d["txid"]),
            "txid": d["txid"],
            "confirmations": d["confirmations"],
            "state": d["state"],
            "late": d["late"],
            "createdAt": wire_time(d["seen_at"]),
        }
        for d in live
    ]
    view["filledAt"] = wire_time(row["filled_at"])
    view["expiredAt"] = wire_time(row["expires_at"])  # when the deposit window closes (or closed)
    return view


def invoice_view(row: asyncpg.Record | Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Everything a merchant or payer may see of an invoice."""
    if row.get("kind") == "unlimited":
        return unlimited_view(row, settings)
    content = {
        "invoiceCurrency": row["invoice_currency"],
        "items": row["items"],
        "total": fmt(row["total"]),
        "paymentCurrency": row["payment_currency"] or row["preset_currency"],
        "isMerchantPaysFee": row["merchant_pays_fee"],
        "redirectURL": row["redirect_url"],
    }
    view: dict[str, Any] = {
        "id": str(row["id"]),
        "status": row["status"],
        "createdAt": wire_time(row["created_at"]),
        "company": _company(row),
        "invoiceContent": content,
        "redirectURL": row["redirect_url"],
    }
    if row.get("kind") == "billing":
        view |= billing_fields(row, settings.public_url, wire_time)
    if row["filled_at"] is None:
        return view
    decimals = row["decimals"]
    due = int(row["due_units"])
    live = [d for d in row["deposits"] if d["state"] != "orphaned"]
    received = sum(int(d["amount_units"]) for d in live if not d["late"])
    chain_settings = settings.chain(row["chain"])
    view["clientEmail"] = row["client_email"]
    view["address"] = {
        "id": str(row["address_id"]),
        "address": row["address"],
        "tag": row["tag"],
        "asset": row["payment_currency"],
    }
    if row["reference"] is not None:  # Solana Pay: the key the payer's wallet adds to the transfer
        view["address"]["reference"] = row["reference"]
    view["paymentDetails"] = {
        "rate": fmt(row["rate"]),
        "invoiceFee": fmt(from_base_units(int(row["fee_units"]), decimals)),
        "amount": fmt(from_base_units(due, decimals)),
        "received": fmt(from_base_units(received, decimals)),
        "remaining": fmt(from_base_units(max(0, due - received), decimals)),
        "networkFee": fmt(from_base_units(int(row["network_fee_units"]), decimals)),
        "rateSources": row["rate_sources"],
    }
    if live:
        view["invoiceTransactions"] = [
            {
                "id": d["id"],
                "amount": fmt(from_base_units(int(d["amount_units"]), decimals)),
                "asset": d["asset"],
                "from": d["asset"],
                "txHash": chain_settings.explorer_tx_url.format(txid=d["txid"]),
                "txid": d["txid"],
                "confirmations": d["confirmations"],
                "state": d["state"],
                "late": d["late"],
                "companyId": str(row["company_id"]),
                "invoiceId": str(row["id"]),
                "addressId": str(row["address_id"]),
                "createdAt": wire_time(d["seen_at"]),
            }
            for d in live
        ]
    view["expiredAt"] = wire_time(row["expires_at"])
    return view


def public_view(view: dict[str, Any]) -> dict[str, Any]:
    """What anyone with the invoice link may read: the merchant's own metadata is left out."""
    view.pop("metadata", None)
    return view


def deposit_view(row: asyncpg.Record, settings: Settings) -> dict[str, Any]:
    """A deposit as the merchant sees it: credited toward its invoice or not, and why."""
    units = int(row["amount_units"])
    payment = PAYMENT_ASSETS.get(row["asset"] or "")
    return {
        "id": str(row["id"]),
        "chain": row["chain"],
        "asset": row["asset"],
        "contract": row["contract"],
        "amount": fmt(from_base_units(units, payment.decimals)) if payment else None,
        "amountUnits": str(units),
        "address": row["address"],
        "tag": row["tag"],
        "txid": row["txid"],
        "index": row["output_index"],
        "txHash": settings.chain(row["chain"]).explorer_tx_url.format(txid=row["txid"]),
        "confirmations": row["confirmations"],
        "state": row["state"],
        "blockHeight": row["block_height"],
        "invoiceId": str(row["invoice_id"]) if row["invoice_id"] else None,
        "credited": row["credited"],
        "reason": row["reason"],
        "late": row["late"],
        "createdAt": wire_time(row["seen_at"]),
        "acceptedAt": wire_time(row["accepted_at"]),
        "acceptedReason": row["accepted_reason"],
    }
