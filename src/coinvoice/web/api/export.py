"""GET /api/invoices/v1/export?format=csv|json: the company's invoices with the list's filters, streamed."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from aiohttp import web

from coinvoice.appkeys import POOL
from coinvoice.domain.errors import Invalid
from coinvoice.services.export import FORMATS, export_chunks
from coinvoice.web.api.account_schemas import query_time
from coinvoice.web.api.auth import require_company
from coinvoice.web.api.merchant_invoices import _statuses

routes = web.RouteTableDef()
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@routes.get("/api/invoices/v1/export")
async def export(request: web.Request) -> web.StreamResponse:
    company = await require_company(request)
    q = request.query
    fmt_name = q.get("format", "csv").lower()
    if fmt_name not in FORMATS:
        raise Invalid("invalid_format", "format must be csv or json", "format")
    chunks = export_chunks(
        request.app[POOL],
        company.id,
        fmt_name,
        statuses=_statuses(q.get("status")),
        created_from=query_time(q, "createdFrom"),
        created_to=query_time(q, "createdTo"),
    )
    try:
        return await _stream(request, fmt_name, chunks)
    finally:
        await chunks.aclose()  # ends the cursor's transaction at once, also when the client went away


async def _stream(request: web.Request, fmt_name: str, chunks: AsyncGenerator[bytes, None]) -> web.StreamResponse:
    first = await anext(chunks)  # errors before the first byte still become JSON errors
    response = web.StreamResponse(
        headers={
            "Content-Type": CONTENT_TYPES[fmt_name],
            "Content-Disposition": f'attachment; filename="invoices.{fmt_name}"',
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
