"""The contract document: OpenAPI 3.1 for every API route, and a self-hosted reference page."""

from __future__ import annotations

import re

from coinvoice.app import create_app


async def test_the_document_is_openapi_31_and_covers_every_api_route(api, settings):
    status, doc = await api.call("GET", "/api/openapi.json")
    assert status == 200 and doc["openapi"] == "3.1.0"
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    app = create_app(settings, role="api")
    served = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/") and route.method != "HEAD" and path not in ("/api/openapi.json", "/api/docs"):
            served.add((route.method, path))
    assert served <= documented, served - documented
    create = doc["paths"]["/api/invoices/v1/regular"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateRegularIn"
    }
    assert {p["name"] for p in create["parameters"]} == {"Idempotency-Key"}
    assert "Idempotent-Replayed" in create["responses"]["200"]["headers"]
    assert doc["components"]["schemas"]["ErrorOut"]["required"] == ["error"]
    assert "invoiceEvent" in doc["webhooks"]


async def test_the_reference_page_is_self_hosted(api):
    async with api.session.get(f"{api.base}/api/docs") as resp:
        page = await resp.text()
        assert resp.status == 200 and resp.content_type == "text/html"
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert "/api/invoices/v1/regular" in page
    assert "Answer 201: <a href=#schema-InvoiceOut>" in page and "<h3 id=schema-InvoiceOut>" in page
    assert not re.search(r"(src|href)=\"?https?://", page)
