"""OpenAPI links: which answer's ids feed which next call (create -> read, change, archive …), for readers and for
the stateful contract check."""

from __future__ import annotations

from typing import Any


def _by_id(param: str, pointer: str, targets: dict[str, str]) -> dict[str, Any]:
    return {
        name: {"operationId": op, "parameters": {param: f"$response.body#{pointer}"}} for name, op in targets.items()
    }


def _invoice_links(pointer: str) -> dict[str, Any]:
    base = "api_invoices_v1_regular_invoice_id"
    return _by_id(
        "invoice_id",
        pointer,
        {
            "GetInvoice": f"get_{base}",
            "Proceed": f"post_{base}_proceed",
            "Accept": f"post_{base}_accept",
            "Reject": f"post_{base}_reject",
        },
    )


def _catalog_links(kind: str, pointer: str) -> dict[str, Any]:
    base = f"api_{kind}_v1_id"
    return _by_id(
        "id",
        pointer,
        {"Get": f"get_{base}", "Patch": f"patch_{base}", "Archive": f"post_{base}_archive"},
    )


def _billing_links(pointer: str) -> dict[str, Any]:
    base = "api_invoices_v1_billing_invoice_id"
    return _by_id(
        "invoice_id",
        pointer,
        {
            "GetBilling": f"get_{base}",
            "PatchBilling": f"patch_{base}",
            "DeleteBilling": f"delete_{base}",
            "Finalize": f"post_{base}_finalize",
            "Void": f"post_{base}_void",
            "MarkUncollectible": f"post_{base}_mark_uncollectible",
            "Send": f"post_{base}_send",
        },
    )


#: operationId of the answering operation -> its success answer's links
LINKS: dict[str, dict[str, Any]] = {
    "post_api_invoices_v1_regular": _invoice_links("/id"),
    "get_api_invoices_v1": _invoice_links("/items/0/id"),
    "get_api_webhooks_deliveries": _by_id(
        "delivery_id", "/items/0/id", {"Redeliver": "post_api_webhooks_deliveries_delivery_id_redeliver"}
    ),
    "post_api_products_v1": {
        **_catalog_links("products", "/id"),
        "CreatePrice": {
            "operationId": "post_api_prices_v1",
            "requestBody": {"productId": "$response.body#/id", "invoiceCurrency": "eur", "unitAmount": "9.99"},
        },
    },
    "get_api_products_v1": _catalog_links("products", "/items/0/id"),
    "post_api_prices_v1": {
        **_catalog_links("prices", "/id"),
        "ListPricesOfProduct": {
            "operationId": "get_api_prices_v1",
            "parameters": {"productId": "$response.body#/productId"},
        },
    },
    "get_api_prices_v1": _catalog_links("prices", "/items/0/id"),
    "post_api_customers_v1": {
        **_catalog_links("customers", "/id"),
        "CreateBillingInvoice": {
            "operationId": "post_api_invoices_v1_billing",
            "requestBody": {
                "customerId": "$response.body#/id",
                "invoiceCurrency": "eur",
                "lineItems": [{"name": "Consulting", "price": "120.00", "quantity": 2}],
            },
        },
    },
    "get_api_customers_v1": _catalog_links("customers", "/items/0/id"),
    "post_api_invoices_v1_billing": _billing_links("/id"),
    "patch_api_invoices_v1_billing_invoice_id": _billing_links("/id"),
}
