"""Response schemas of the billing API: products, prices, customers and their pages, a deleted draft."""

from __future__ import annotations

from typing import Literal

from coinvoice.web.api.responses import Closed, DecimalText, Id, Time


class CatalogCommon(Closed):
    id: Id
    active: bool
    metadata: dict[str, str]
    createdAt: Time
    updatedAt: Time


class ProductOut(CatalogCommon):
    name: str
    description: str | None


class PriceOut(CatalogCommon):
    productId: Id
    invoiceCurrency: str
    unitAmount: DecimalText


class CustomerOut(CatalogCommon):
    email: str | None
    name: str | None


class ProductPage(Closed):
    items: list[ProductOut]
    nextCursor: str | None


class PricePage(Closed):
    items: list[PriceOut]
    nextCursor: str | None


class CustomerPage(Closed):
    items: list[CustomerOut]
    nextCursor: str | None


class DeletedDraft(Closed):
    id: Id
    deleted: Literal[True]
