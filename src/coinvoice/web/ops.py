"""Operations endpoints and request context: /healthz, /readyz, X-Request-Id and JSON log lines."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from coinvoice.appkeys import POOL
from coinvoice.db.migrate import pending_migrations
from coinvoice.logcontext import CHAIN, INVOICE_ID, REQUEST_ID

__all__ = ["CHAIN", "INVOICE_ID", "REQUEST_ID", "JsonFormatter", "configure_logging", "healthz", "readyz"]

_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Request ids need to be unique, not secret: a random per-process prefix and a counter (32 hex digits, like a
# uuid4's hex) instead of a getrandom syscall per request.
_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(int.from_bytes(os.urandom(4)))


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFFFFFFFFFF:016x}"


async def healthz(request: web.Request) -> web.Response:
    """Alive: the process answers (liveness; no database, so an outage does not get processes restarted).
    Whether it can serve traffic is /readyz."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready for traffic: the database answers and every migration on disk is applied; 503 JSON otherwise."""
    try:
        async with request.app[POOL].acquire(timeout=5) as conn:
            pending = await pending_migrations(conn)
    except Exception as exc:
        message = f"the database is not reachable: {type(exc).__name__}"
        return web.json_response(
            {"status": "unavailable", "error": {"code": "database_unavailable", "message": message, "field": None}},
            status=503,
        )
    if pending:
        message = f"{len(pending)} migration(s) not applied: {', '.join(pending)}"
        return web.json_response(
            {"status": "unavailable", "error": {"code": "migrations_pending", "message": message, "field": None}},
            status=503,
        )
    return web.json_response({"status": "ready"})


@web.middleware
async def request_id_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Take the caller's X-Request-Id when it is a plain token (else make one), log with it, and return it."""
    given = request.headers.get("X-Request-Id", "")
    request_id = given if _GOOD_ID.fullmatch(given) else new_request_id()
    tokens = (REQUEST_ID.set(request_id), INVOICE_ID.set(None), CHAIN.set(None))
    try:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers["X-Request-Id"] = request_id
            raise
        if not response.prepared:
            response.headers["X-Request-Id"] = request_id
        return response
    finally:
        CHAIN.reset(tokens[2])
        INVOICE_ID.reset(tokens[1])
        REQUEST_ID.reset(tokens[0])


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the request id, invoice id and chain."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("requestId", REQUEST_ID), ("invoiceId", INVOICE_ID), ("chain", CHAIN)):
            value = getattr(record, key, None) or var.get()
            if value:
                line[key] = str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(log_format: str) -> None:
    """Plain text lines, or with ``json`` one JSON object per line (COINVOICE_LOG_FORMAT)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every run of every job at INFO
    # asyncpg's pool logs a traceback every time it fails to reopen its minimum connections during a database
    # outage; coinvoice.outage logs the outage once, and its end
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
