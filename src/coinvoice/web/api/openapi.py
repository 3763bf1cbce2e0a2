"""The OpenAPI 3.1 document, generated from the request models the handlers use, and a self-hosted reference page."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from coinvoice.config import RATE_CURRENCIES
from coinvoice.domain.chains import CHAINS
from coinvoice.domain.invoice import Status
from coinvoice.services.rates import QUOTE_CURRENCIES
from coinvoice.web.api.account_schemas import AcceptDepositIn, LimitsIn, RotateIn, SettingsIn, WebhookUrlIn
from coinvoice.web.api.billing_responses import (
    CustomerOut,
    CustomerPage,
    DeletedDraft,
    PriceOut,
    PricePage,
    ProductOut,
    ProductPage,
)
from coinvoice.web.api.billing_schemas import (
    BillingInvoiceIn,
    BillingInvoicePatch,
    CustomerIn,
    CustomerPatch,
    PriceIn,
    PricePatch,
    ProductIn,
    ProductPatch,
    UnlimitedInvoiceIn,
)
from coinvoice.web.api.links import LINKS
from coinvoice.web.api.responses import (
    AnyInvoice,
    AnyPayerInvoice,
    AssetsOut,
    DeliveryOut,
    DeliveryPage,
    DepositAccepted,
    DepositDismissed,
    DepositPage,
    ExportRecord,
    Health,
    InvoiceOut,
    InvoicePage,
    LimitsOut,
    RateOut,
    RotatedKey,
    SettingsOut,
    UnlimitedOut,
    WalletList,
    WalletSet,
    WebhookUrlOut,
)
from coinvoice.web.api.schemas import AssetsIn, CreateRegularIn, ErrorOut, ProceedIn, WalletIn

routes = web.RouteTableDef()
REASONS = {
    400: "Bad input: the error names the field at fault",
    401: "No token, or a token that is unknown or revoked",
    404: "No such object (or another company's)",
    409: "The object is in the wrong state for this",
    413: "The body is too large",
    503: "No fresh rate, or the database is unavailable; try again",
}
UUID_PATH = {"type": "string", "description": "a UUID; anything else is a 404"}


def _q(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


PAGING = [
    _q("limit", "page size, 1 to 100 (ASCII digits)", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
    _q("cursor", "nextCursor of the previous page"),
]


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    out: type[BaseModel] | None = None
    out_array: bool = False
    auth: bool = True
    ok: int = 200
    errors: tuple[int, ...] = ()
    params: list[dict[str, Any]] = field(default_factory=list)
    body_optional: bool = False
    tag: str = "merchant"
    content_types: tuple[str, ...] = ("application/json",)


OPERATIONS = [
    Op(
        "post",
        "/api/invoices/v1/regular",
        "Create a regular invoice",
        CreateRegularIn,
        out=InvoiceOut,
        ok=201,
        errors=(400, 409, 413),
        params=[
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "1-255 printable ASCII characters; the same key with the same normalised request replays the first invoice (200, Idempotent-Replayed: true), another request is a 409",
            }
        ],
    ),
    Op(
        "get",
        "/api/invoices/v1/regular/{invoice_id}",
        "Read an invoice (no token; never shows clientEmail)",
        out=AnyPayerInvoice,
        auth=False,
        errors=(404,),
        tag="payer",
    ),
    Op(
        "post",
        "/api/invoices/v1/regular/{invoice_id}/proceed",
        "Fill an invoice: freeze a quote and allocate an address",
        ProceedIn,
        out=AnyPayerInvoice,
        auth=False,
        errors=(400, 404, 409, 413),
        tag="payer",
    ),
    Op(
        "post",
        "/api/invoices/v1/regular/{invoice_id}/accept",
        "Accept a wrong or late-paid invoice",
        out=AnyInvoice,
        errors=(404, 409),
    ),
    Op(
        "post",
        "/api/invoices/v1/regular/{invoice_id}/reject",
        "Reject a wrong invoice (refunded)",
        out=AnyInvoice,
        errors=(404, 409),
    ),
    Op(
        "get",
        "/api/invoices/v1",
        "List the company's invoices, newest first",
        out=InvoicePage,
        errors=(400,),
        params=[
            _q("status", "comma-separated statuses", {"type": "string", "examples": ["pending,done"]}),
            _q("createdFrom", "ISO 8601 time with a zone", {"type": "string", "format": "date-time"}),
            _q("createdTo", "ISO 8601 time with a zone", {"type": "string", "format": "date-time"}),
            *PAGING,
        ],
    ),
    Op(
        "get",
        "/api/company/deposits",
        "List payments seen at the company's addresses",
        out=DepositPage,
        errors=(400, 404),
        params=[
            _q("credited", "true or false", {"type": "string", "enum": ["true", "false"]}),
            _q("chain", "a chain name"),
            _q("invoiceId", "an invoice id", {"type": "string", "format": "uuid"}),
            *PAGING,
        ],
    ),
    Op(
        "post",
        "/api/company/deposits/{deposit_id}/accept",
        "Credit a deposit that was not credited to an invoice of the same payment asset",
        AcceptDepositIn,
        out=DepositAccepted,
        errors=(400, 404, 409, 413),
    ),
    Op(
        "post",
        "/api/company/deposits/{deposit_id}/dismiss",
        "Dismiss a deposit that was not credited (handled outside the gateway)",
        out=DepositDismissed,
        errors=(404, 409),
    ),
    Op(
        "put",
        "/api/company/wallets/{chain}",
        "Set the account key (xpub) or the one address of a chain",
        WalletIn,
        out=WalletSet,
        errors=(400, 409, 413),
    ),
    Op("get", "/api/company/wallets", "The company's wallets", out=WalletList),
    Op("get", "/api/company/assets", "Allowed assets", out=AssetsOut),
    Op("patch", "/api/company/assets", "Allow or disallow assets", AssetsIn, out=AssetsOut, errors=(400, 413)),
    Op("get", "/api/company/settings", "Company settings", out=SettingsOut),
    Op(
        "patch",
        "/api/company/settings",
        "Change name, logoUrl, redirectURL",
        SettingsIn,
        out=SettingsOut,
        errors=(400, 413),
    ),
    Op("get", "/api/company/settings/webhook-url", "The webhook URL", out=WebhookUrlOut),
    Op(
        "put",
        "/api/company/settings/webhook-url",
        "Set or clear (null) the webhook URL",
        WebhookUrlIn,
        out=WebhookUrlOut,
        errors=(400, 413),
    ),
    Op("get", "/api/company/underpayment-limits", "Underpayment limits per asset", out=LimitsOut),
    Op(
        "patch",
        "/api/company/underpayment-limits",
        "Set underpayment limits",
        LimitsIn,
        out=LimitsOut,
        errors=(400, 413),
    ),
    Op(
        "post",
        "/api/company/secret-key/rotate",
        "Issue a new secret key (the body may be left out)",
        RotateIn,
        out=RotatedKey,
        ok=201,
        errors=(400, 413),
        body_optional=True,
    ),
    Op(
        "get",
        "/api/webhooks/deliveries",
        "The webhook delivery log",
        out=DeliveryPage,
        errors=(400, 404),
        params=[
            _q("state", "pending, delivered or failed"),
            _q("invoiceId", "an invoice id", {"type": "string", "format": "uuid"}),
            *PAGING,
        ],
    ),
    Op(
        "post",
        "/api/webhooks/deliveries/{delivery_id}/redeliver",
        "Deliver an event again",
        out=DeliveryOut,
        ok=202,
        errors=(404, 409),
    ),
    Op(
        "get",
        "/api/rates",
        "The current rate of a pair (no token)",
        out=RateOut,
        auth=False,
        errors=(400,),
        tag="public",
        params=[
            {
                **_q("from", "invoice currency (any case)", {"type": "string", "enum": list(RATE_CURRENCIES)}),
                "required": True,
            },
            {
                **_q("to", "payment currency (any case)", {"type": "string", "enum": list(QUOTE_CURRENCIES)}),
                "required": True,
            },
        ],
    ),
    Op(
        "post",
        "/api/products/v1",
        "Create a product",
        ProductIn,
        out=ProductOut,
        ok=201,
        errors=(400, 404, 409, 413),
        tag="billing",
    ),
    Op(
        "get",
        "/api/products/v1",
        "List products, newest first",
        out=ProductPage,
        errors=(400, 404),
        params=[_q("active", "true or false", {"type": "string", "enum": ["true", "false"]}), *PAGING],
        tag="billing",
    ),
    Op("get", "/api/products/v1/{id}", "Read a product", out=ProductOut, errors=(404,), tag="billing"),
    Op(
        "patch",
        "/api/products/v1/{id}",
        "Change a product (only the fields sent)",
        ProductPatch,
        out=ProductOut,
        errors=(400, 404, 409, 413),
        tag="billing",
    ),
    Op("post", "/api/products/v1/{id}/archive", "Archive a product", out=ProductOut, errors=(404, 409), tag="billing"),
    Op(
        "post",
        "/api/prices/v1",
        "Create a price",
        PriceIn,
        out=PriceOut,
        ok=201,
        errors=(400, 404, 409, 413),
        tag="billing",
    ),
    Op(
        "get",
        "/api/prices/v1",
        "List prices, newest first",
        out=PricePage,
        errors=(400, 404),
        params=[
            _q("active", "true or false", {"type": "string", "enum": ["true", "false"]}),
            _q("productId", "a product id", {"type": "string", "format": "uuid"}),
            *PAGING,
        ],
        tag="billing",
    ),
    Op("get", "/api/prices/v1/{id}", "Read a price", out=PriceOut, errors=(404,), tag="billing"),
    Op(
        "patch",
        "/api/prices/v1/{id}",
        "Change a price (only the fields sent)",
        PricePatch,
        out=PriceOut,
        errors=(400, 404, 409, 413),
        tag="billing",
    ),
    Op("post", "/api/prices/v1/{id}/archive", "Archive a price", out=PriceOut, errors=(404, 409), tag="billing"),
    Op(
        "post",
        "/api/customers/v1",
        "Create a customer",
        CustomerIn,
        out=CustomerOut,
        ok=201,
        errors=(400, 404, 409, 413),
        tag="billing",
    ),
    Op(
        "get",
        "/api/customers/v1",
        "List customers, newest first",
        out=CustomerPage,
        errors=(400, 404),
        params=[_q("active", "true or false", {"type": "string", "enum": ["true", "false"]}), *PAGING],
        tag="billing",
    ),
    Op("get", "/api/customers/v1/{id}", "Read a customer", out=CustomerOut, errors=(404,), tag="billing"),
    Op(
        "patch",
        "/api/customers/v1/{id}",
        "Change a customer (only the fields sent)",
        CustomerPatch,
        out=CustomerOut,
        errors=(400, 404, 409, 413),
        tag="billing",
    ),
    Op(
        "post",
        "/api/customers/v1/{id}/archive",
        "Archive a customer",
        out=CustomerOut,
        errors=(404, 409),
        tag="billing",
    ),
    Op(
        "post",
        "/api/invoices/v1/billing",
        "Create a draft billing invoice",
        BillingInvoiceIn,
        out=InvoiceOut,
        ok=201,
        errors=(400, 404, 409, 413),
        tag="billing",
    ),
    Op(
        "get",
        "/api/invoices/v1/billing/{invoice_id}",
        "Read a billing invoice",
        out=InvoiceOut,
        errors=(404,),
        tag="billing",
    ),
    Op(
        "patch",
        "/api/invoices/v1/billing/{invoice_id}",
        "Change a draft (only the fields sent)",
        BillingInvoicePatch,
        out=InvoiceOut,
        errors=(400, 404, 409, 413),
        tag="billing",
    ),
    Op(
        "delete",
        "/api/invoices/v1/billing/{invoice_id}",
        "Delete a draft",
        out=DeletedDraft,
        errors=(404, 409),
        tag="billing",
    ),
    Op(
        "post",
        "/api/invoices/v1/billing/{invoice_id}/finalize",
        "Finalize a draft (open)",
        out=InvoiceOut,
        errors=(404, 409),
        tag="billing",
    ),
    Op(
        "post",
        "/api/invoices/v1/billing/{invoice_id}/void",
        "Void an open invoice",
        out=InvoiceOut,
        errors=(404, 409),
        tag="billing",
    ),
    Op(
        "post",
        "/api/invoices/v1/billing/{invoice_id}/mark-uncollectible",
        "Mark an open invoice uncollectible",
        out=InvoiceOut,
        errors=(404, 409),
        tag="billing",
    ),
    Op(
        "post",
        "/api/invoices/v1/billing/{invoice_id}/send",
        "Email the invoice to its customer",
        out=InvoiceOut,
        errors=(404, 409),
        tag="billing",
    ),
    Op(
        "post",
        "/api/invoices/v1/unlimited",
        "Create an any-amount invoice (no price; every deposit credited)",
        UnlimitedInvoiceIn,
        out=UnlimitedOut,
        ok=201,
        errors=(400, 413),
        tag="billing",
    ),
    Op(
        "get",
        "/api/invoices/v1/unlimited/{invoice_id}",
        "Read an any-amount invoice",
        out=UnlimitedOut,
        errors=(404,),
        tag="billing",
    ),
    Op(
        "post",
        "/api/invoices/v1/unlimited/{invoice_id}/close",
        "Close an any-amount invoice's deposit window now",
        out=UnlimitedOut,
        errors=(404, 409),
        tag="billing",
    ),
    Op(
        "get",
        "/api/invoices/v1/export",
        "Export the company's invoices as CSV or JSON (streamed)",
        out=ExportRecord,
        out_array=True,
        errors=(400,),
        content_types=("text/csv", "application/json"),
        params=[
            _q("format", "csv or json", {"type": "string", "enum": ["csv", "json"]}),
            _q("status", "comma-separated statuses"),
            _q("createdFrom", "ISO 8601 time with a zone", {"type": "string", "format": "date-time"}),
            _q("createdTo", "ISO 8601 time with a zone", {"type": "string", "format": "date-time"}),
        ],
    ),
    Op("get", "/healthz", "Alive", out=Health, auth=False, tag="operations"),
    Op(
        "get",
        "/readyz",
        "Ready: database reachable and migrations current (503 otherwise)",
        out=Health,
        auth=False,
        tag="operations",
    ),
]


def operation_id(op: Op) -> str:
    return f"{op.method}_{op.path.strip('/').replace('/', '_').replace('{', '').replace('}', '').replace('-', '_')}"


def _component(model: type[BaseModel], schemas: dict[str, Any], mode: JsonSchemaMode) -> dict[str, Any]:
    """Put ``model`` (and the models it uses) under components/schemas; a $ref to it."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    for name, sub in schema.pop("$defs", {}).items():
        schemas[name] = sub
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(op: Op, schemas: dict[str, Any]) -> dict[str, Any]:
    params = list(op.params)
    for name in ("invoice_id", "delivery_id", "deposit_id", "chain", "id"):
        if "{" + name + "}" in op.path:
            params.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": UUID_PATH if name != "chain" else {"type": "string", "enum": list(CHAINS)},
                }
            )
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    body_schema: dict[str, Any] = {"type": "object"}
    if op.out is not None:
        body_schema = _component(op.out, schemas, "serialization")
        if op.out_array:
            body_schema = {"type": "array", "items": body_schema}
    success: dict[str, Any] = {
        "description": "OK",
        "content": {
            ct: {"schema": body_schema if ct.endswith("json") else {"type": "string"}} for ct in op.content_types
        },
    }
    if links := LINKS.get(operation_id(op)):
        success["links"] = links
    responses: dict[str, Any] = {str(op.ok): success}
    if op.path == "/api/invoices/v1/regular":
        responses["200"] = {
            "description": "Replayed: this Idempotency-Key was used with the same normalised request",
            "headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}}},
            "content": success["content"],
        }
    statuses = set(op.errors) | {503}
    if op.auth:
        statuses.add(401)
    for status in sorted(statuses):
        responses[str(status)] = {"description": REASONS[status], **error}
    operation: dict[str, Any] = {
        "operationId": operation_id(op),
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": params,
        "responses": responses,
        "security": [{"bearer": []}] if op.auth else [],
    }
    if op.body is not None:
        operation["requestBody"] = {
            "required": not op.body_optional,
            "content": {"application/json": {"schema": _component(op.body, schemas, "validation")}},
        }
    return operation


@cache
def openapi_document() -> dict[str, Any]:
    """The API as OpenAPI 3.1: every endpoint, its request model, its answers and the error shape."""
    schemas: dict[str, Any] = {}
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorOut"] = error_schema
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, schemas)
    event = {
        "type": "object",
        "required": ["eventId", "type", "createdAt"],
        "properties": {
            "eventId": {"type": "string", "format": "uuid"},
            "type": {"type": "string", "examples": ["invoice.done", "deposit.not_credited"]},
            "invoiceId": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": [s.value for s in Status]},
            "message": {"type": "string"},
            "createdAt": {"type": "string", "format": "date-time"},
            "invoice": {"type": "object", "description": "the full invoice, as GET by a merchant shows it"},
            "deposit": {"type": "object"},
        },
    }
    schemas["WebhookEvent"] = event
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "coinvoice",
            "version": "1",
            "description": "Self-hosted crypto-payment invoices. Every 4xx/5xx answer is an ErrorOut; a client "
            "error is never a 500. Send X-Request-Id to correlate logs (it is echoed back).",
        },
        "paths": paths,
        "webhooks": {
            "invoiceEvent": {
                "post": {
                    "summary": "An event, POSTed to your webhook URL; verify Coinvoice-Signature (docs/webhooks.md)",
                    "parameters": [
                        {"name": "Coinvoice-Signature", "in": "header", "required": True, "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookEvent"}}}
                    },
                    "responses": {"200": {"description": "any 2xx acknowledges; anything else is retried"}},
                }
            }
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "the public token pk_…"}},
        },
    }


@routes.get("/api/openapi.json")
async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(), headers={"Cache-Control": "public, max-age=300"})


def _schema_name(schema: dict[str, Any]) -> str | None:
    """The component a schema refers to (directly or as an array's items), or None."""
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
    return ref.rsplit("/", 1)[1] if ref else None


@cache
def docs_page() -> str:
    doc = openapi_document()
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8><title>coinvoice API</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "code,pre{background:#f4f4f4;padding:.1rem .3rem}pre{padding:.6rem;overflow:auto}"
        "h2{border-top:1px solid #ddd;padding-top:1rem}.m{font-weight:bold;text-transform:uppercase}</style>",
        f"<h1>{html.escape(doc['info']['title'])} API</h1><p>{html.escape(doc['info']['description'])}</p>",
        "<p>Machine-readable: <a href=/api/openapi.json>/api/openapi.json</a> (OpenAPI 3.1).</p>",
    ]
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            parts.append(
                f"<h2 id={html.escape(op['operationId'])}><span class=m>{method}</span> <code>{html.escape(path)}</code></h2>"
            )
            parts.append(
                f"<p>{html.escape(op['summary'])}{' — needs <code>Authorization: Bearer pk_…</code>' if op['security'] else ''}</p>"
            )
            for param in op["parameters"]:
                parts.append(
                    f"<p><code>{html.escape(param['name'])}</code> ({param['in']}): {html.escape(param.get('description', ''))}</p>"
                )
            if "requestBody" in op:
                name = _schema_name(op["requestBody"]["content"]["application/json"]["schema"])
                schema = json.dumps(doc["components"]["schemas"][name], indent=2)
                parts.append(f"<p>Body <code>{name}</code>:</p><pre>{html.escape(schema)}</pre>")
            for code, answer in op["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if code.startswith("2") and (name := _schema_name(schema)):
                    many = " (a JSON array of them)" if schema.get("type") == "array" else ""
                    parts.append(f"<p>Answer {code}: <a href=#schema-{name}><code>{name}</code></a>{many}</p>")
                    break
            answers = ", ".join(f"{code} {html.escape(r['description'])}" for code, r in op["responses"].items())
            parts.append(f"<p>Answers: {answers}</p>")
    error = json.dumps(doc["components"]["schemas"]["ErrorOut"], indent=2)
    parts.append(f"<h2>Errors</h2><pre>{html.escape(error)}</pre><h2>Schemas</h2>")
    for name, schema in sorted(doc["components"]["schemas"].items()):
        text = html.escape(json.dumps(schema, indent=2))
        parts.append(f"<h3 id=schema-{html.escape(name)}><code>{html.escape(name)}</code></h3><pre>{text}</pre>")
    parts.append("</html>")
    return "\n".join(parts)


@routes.get("/api/docs")
async def get_docs(request: web.Request) -> web.Response:
    response = web.Response(text=docs_page(), content_type="text/html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
