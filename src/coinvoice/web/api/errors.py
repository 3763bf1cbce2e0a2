"""The error middleware: every failure leaves as JSON {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from coinvoice.appkeys import OUTAGE
from coinvoice.db.outage import is_outage
from coinvoice.domain.errors import Conflict, DomainError, Invalid, NotFound, Unavailable

log = logging.getLogger(__name__)

#: Paths answered without the database: their success says nothing about an outage being over.
NO_DATABASE = frozenset({"/healthz", "/metrics"})
STATUS_OF = {Invalid: 400, NotFound: 404, Conflict: 409, Unavailable: 503}


class Unauthorized(DomainError):
    """No token, or a token that is unknown or revoked (401)."""


STATUS_OF[Unauthorized] = 401


def error_response(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "field": field}}, status=status)


def _http_code(exc: web.HTTPException) -> str:
    return {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status, "http_error")


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        response = await handler(request)
    except DomainError as exc:
        status = next(s for cls, s in STATUS_OF.items() if isinstance(exc, cls))
        return error_response(status, exc.code, exc.message, exc.field)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        return error_response(exc.status, _http_code(exc), exc.reason)
    except Exception as exc:
        if not is_outage(exc):
            log.exception("unhandled error in %s %s", request.method, request.path)
            return error_response(500, "internal_error", "internal error")
        if (outage := request.app.get(OUTAGE)) is not None:
            outage.failed(f"{request.method} {request.path}", exc)  # one log line per outage, not per request
        else:
            log.error("database unavailable during %s %s: %s", request.method, request.path, exc)
        response = error_response(503, "database_unavailable", "the database is not reachable; try again")
        response.headers["Retry-After"] = "1"
        return response
    outage = request.app.get(OUTAGE)
    if outage is not None and outage.down and response.status < 500 and request.path not in NO_DATABASE:
        outage.succeeded()
    return response
