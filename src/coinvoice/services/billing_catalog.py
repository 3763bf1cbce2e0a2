"""Billing catalog use cases: create, read, update, list and archive products, prices and customers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from coinvoice.db import billing_catalog as db
from coinvoice.db.connection import ConnOrPool
from coinvoice.domain.assets import PRICE_PRECISION
from coinvoice.domain.billing import check_metadata
from coinvoice.domain.errors import Conflict, Invalid, NotFound
from coinvoice.domain.money import fmt, round_price
from coinvoice.domain.text import email_problem
from coinvoice.services.pagination import check_limit, decode_cursor, encode_cursor
from coinvoice.services.views import wire_time


@dataclass(frozen=True, slots=True)
class Kind:
    table: str
    what: str  # "product", "price", "customer": in error codes and messages


PRODUCT = Kind("products", "product")
PRICE = Kind("prices", "price")
CUSTOMER = Kind("customers", "customer")


def _view(kind: Kind, row: asyncpg.Record | Mapping[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": str(row["id"])}
    if kind is PRODUCT:
        view |= {"name": row["name"], "description": row["description"]}
    elif kind is PRICE:
        view |= {
            "productId": str(row["product_id"]),
            "invoiceCurrency": row["invoice_currency"],
            "unitAmount": fmt(row["unit_amount"]),
        }
    else:
        view |= {"email": row["email"], "name": row["name"]}
    return view | {
        "active": row["active"],
        "metadata": row["metadata"],
        "createdAt": wire_time(row["created_at"]),
        "updatedAt": wire_time(row["updated_at"]),
    }


def _not_found(kind: Kind, field: str = "id") -> NotFound:
    return NotFound(f"{kind.what}_not_found", f"no {kind.what} with this id", field)


def _prepare(kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
    if "metadata" in values:
        values["metadata"] = check_metadata(values["metadata"] or {})
    if kind is PRICE and "unit_amount" in values:
        if Decimal(values["unit_amount"]) < 0:
            raise Invalid("out_of_range", "unitAmount must not be negative", "unitAmount")
        amount = round_price(Decimal(values["unit_amount"]), PRICE_PRECISION[values["invoice_currency"]])
        values["unit_amount"] = amount
    return values


async def _check_product(conn: ConnOrPool, company_id: uuid.UUID, product_id: uuid.UUID) -> None:
    product = await db.fetch(conn, PRODUCT.table, company_id, product_id)
    if product is None:
        raise _not_found(PRODUCT, "productId")
    if not product["active"]:
        raise Conflict("product_archived", "the product is archived; prices cannot be added to it", "productId")


async def create(pool: asyncpg.Pool, kind: Kind, company_id: uuid.UUID, values: dict[str, Any]) -> dict[str, Any]:
    values = _prepare(kind, values)
    if kind is CUSTOMER:
        check_email(values.get("email"))
    async with pool.acquire() as conn, conn.transaction():
        if kind is PRICE:
            await _check_product(conn, company_id, values["product_id"])
        return _view(kind, await db.insert(conn, kind.table, company_id, values))


async def get(pool: ConnOrPool, kind: Kind, company_id: uuid.UUID, object_id: uuid.UUID) -> dict[str, Any]:
    row = await db.fetch(pool, kind.table, company_id, object_id)
    if row is None:
        raise _not_found(kind)
    return _view(kind, row)


async def update(
    pool: asyncpg.Pool, kind: Kind, company_id: uuid.UUID, object_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change only the fields sent. A price an invoice used keeps its currency and amount forever."""
    async with pool.acquire() as conn, conn.transaction():
        row = await db.fetch(conn, kind.table, company_id, object_id, lock=True)
        if row is None:
            raise _not_found(kind)
        if kind is PRICE:
            money = {"invoice_currency", "unit_amount", "product_id"} & changes.keys()
            if money and row["used"]:
                field = {"invoice_currency": "invoiceCurrency", "unit_amount": "unitAmount"}.get(
                    sorted(money)[0], "productId"
                )
                raise Conflict("price_in_use", "an invoice used this price: archive it and create another", field)
            if "product_id" in changes:
                await _check_product(conn, company_id, changes["product_id"])
            if {"unit_amount", "invoice_currency"} & changes.keys():
                changes.setdefault("invoice_currency", row["invoice_currency"])
                changes.setdefault("unit_amount", row["unit_amount"])
        changes = _prepare(kind, changes)
        if kind is CUSTOMER:
            check_email(changes.get("email"))
        if not changes:
            return _view(kind, row)
        updated = await db.update(conn, kind.table, company_id, object_id, changes)
        assert updated is not None
        return _view(kind, updated)


async def archive(pool: asyncpg.Pool, kind: Kind, company_id: uuid.UUID, object_id: uuid.UUID) -> dict[str, Any]:
    """Archived objects stay readable and listable (``active=false``); new invoices cannot use them."""
    row = await db.update(pool, kind.table, company_id, object_id, {"active": False})
    if row is None:
        raise _not_found(kind)
    return _view(kind, row)


async def list_page(
    pool: asyncpg.Pool,
    kind: Kind,
    company_id: uuid.UUID,
    *,
    active: bool | None,
    limit: int,
    cursor: str | None,
    product_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    check_limit(limit)
    after = decode_cursor(cursor) if cursor else None
    rows = await db.list_page(
        pool, kind.table, company_id, active=active, after=after, limit=limit + 1, product_id=product_id
    )
    page = rows[:limit]
    more = len(rows) > limit
    return {
        "items": [_view(kind, r) for r in page],
        "nextCursor": encode_cursor(page[-1]["created_at"], page[-1]["id"]) if more else None,
    }


def check_email(email: str | None) -> str | None:
    if email is not None and email_problem(email):
        raise Invalid("invalid_email", "email must be a valid email address", "email")
    return email
