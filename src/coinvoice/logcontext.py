"""What every log line should name: the request being handled (X-Request-Id), the invoice and the chain it concerns.

Context variables, set by the web layer per request and by workers per job, read by the JSON log formatter and by
the services that store the request id with the events and emails a request causes.
"""

from __future__ import annotations

import contextvars

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
INVOICE_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("invoice_id", default=None)
CHAIN: contextvars.ContextVar[str | None] = contextvars.ContextVar("chain", default=None)


def log_fields(request_id: str | None, invoice_id: object | None = None, chain: str | None = None) -> dict[str, str]:
    """``extra=`` for a log line about work a request caused, processed later by a worker."""
    fields = {"requestId": request_id, "invoiceId": str(invoice_id) if invoice_id else None, "chain": chain}
    return {key: value for key, value in fields.items() if value}
