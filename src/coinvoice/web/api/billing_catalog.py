"""Billing catalog handlers: /api/products/v1, /api/prices/v1 and /api/customers/v1."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from coinvoice.appkeys import POOL
from coinvoice.domain.errors import Invalid
from coinvoice.jsonenc import json_response
from coinvoice.services import billing_catalog as service
from coinvoice.web.api.account_schemas import query_int, uuid_or_404
from coinvoice.web.api.auth import require_company
from coinvoice.web.api.billing_schemas import (
    CustomerIn,
    CustomerPatch,
    PriceIn,
    PricePatch,
    ProductIn,
    ProductPatch,
)
from coinvoice.web.api.schemas import parse, read_json

routes = web.RouteTableDef()

#: wire field -> column
COLUMNS = {
    "name": "name",
    "description": "description",
    "active": "active",
    "metadata": "metadata",
    "productId": "product_id",
    "invoiceCurrency": "invoice_currency",
    "unitAmount": "unit_amount",
    "email": "email",
}
KINDS: dict[str, tuple[service.Kind, type[BaseModel], type[BaseModel]]] = {
    "products": (service.PRODUCT, ProductIn, ProductPatch),
    "prices": (service.PRICE, PriceIn, PricePatch),
    "customers": (service.CUSTOMER, CustomerIn, CustomerPatch),
}


def _values(body: BaseModel, only_sent: bool) -> dict[str, Any]:
    fields = body.model_fields_set if only_sent else type(body).model_fields.keys()
    values = {COLUMNS[f]: getattr(body, f) for f in fields}
    if "product_id" in values:
        values["product_id"] = uuid_or_404(values["product_id"], "product_not_found", "product", "productId")
    if only_sent:
        for column in ("name", "active", "metadata", "invoice_currency", "unit_amount", "product_id"):
            if column in values and values[column] is None:
                raise Invalid(
                    "required", f"{column} cannot be null", next(k for k, v in COLUMNS.items() if v == column)
                )
    return values


def _id(request: web.Request, kind: service.Kind) -> uuid.UUID:
    object_id = uuid_or_404(request.match_info["id"], f"{kind.what}_not_found", kind.what, "id")
    assert object_id is not None
    return object_id


def _active(raw: str | None) -> bool | None:
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise Invalid("invalid_boolean", "active must be true or false", "active")
    return raw.lower() == "true"


def _handlers(path: str) -> None:
    kind, create_model, patch_model = KINDS[path]
    base = f"/api/{path}/v1"

    async def create(request: web.Request) -> web.Response:
        company = await require_company(request)
        body = parse(create_model, await read_json(request))
        return json_response(
            await service.create(request.app[POOL], kind, company.id, _values(body, False)), status=201
        )

    async def get(request: web.Request) -> web.Response:
        company = await require_company(request)
        return json_response(await service.get(request.app[POOL], kind, company.id, _id(request, kind)))

    async def patch(request: web.Request) -> web.Response:
        company = await require_company(request)
        object_id = _id(request, kind)
        body = parse(patch_model, await read_json(request))
        view = await service.update(request.app[POOL], kind, company.id, object_id, _values(body, True))
        return json_response(view)

    async def archive(request: web.Request) -> web.Response:
        company = await require_company(request)
        return json_response(await service.archive(request.app[POOL], kind, company.id, _id(request, kind)))

    async def list_(request: web.Request) -> web.Response:
        company = await require_company(request)
        q = request.query
        product_id = None
        if kind is service.PRICE:
            product_id = uuid_or_404(q.get("productId"), "product_not_found", "product", "productId")
        page = await service.list_page(
            request.app[POOL],
            kind,
            company.id,
            active=_active(q.get("active")),
            limit=query_int(q, "limit", 20),
            cursor=q.get("cursor"),
            product_id=product_id,
        )
        return json_response(page)

    routes.post(base)(create)
    routes.get(base)(list_)
    routes.get(base + "/{id}")(get)
    routes.patch(base + "/{id}")(patch)
    routes.post(base + "/{id}/archive")(archive)


for _path in KINDS:
    _handlers(_path)
