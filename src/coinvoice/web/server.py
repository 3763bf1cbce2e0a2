"""The HTTP server around the app: requests aiohttp refuses before routing (an over-long request line, a
malformed header) are answered in the API's JSON error shape too, not as text/plain."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from coinvoice.web.access_log import ACCESS_LOG, AccessLogger

log = logging.getLogger(__name__)

#: Codes for the statuses aiohttp's parser answers with.
PARSER_CODES = {400: "bad_request", 413: "request_too_large", 414: "request_too_large", 431: "request_too_large"}


class JsonErrorRequestHandler(RequestHandler):  # type: ignore[type-arg]
    """aiohttp's connection handler, with its pre-routing error answers as {"error": {...}} JSON."""

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        response = super().handle_error(request, status, exc, message)
        code = PARSER_CODES.get(status, "internal_error" if status >= 500 else "bad_request")
        text = "internal error" if status >= 500 else (str(message or "").splitlines() or ["bad request"])[0][:300]
        body = json.dumps({"error": {"code": code, "message": text or "bad request", "field": None}})
        json_response = web.Response(status=status, text=body, content_type="application/json")
        json_response.force_close()
        return json_response if isinstance(response, web.Response) else response


class JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:  # type: ignore[type-arg]
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorRunner(web.AppRunner):
    """An AppRunner whose server answers parser errors in JSON; use it wherever the gateway listens."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = JsonErrorServer
        return server


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    reuse_port: bool = False,
    access_log: bool = True,
    **runner_args: Any,
) -> None:
    """Listen until SIGINT or SIGTERM, then shut down gracefully (what web.run_app does, with our runner): stop
    accepting, let in-flight requests finish (up to the runner's shutdown_timeout), then the app's cleanup stops
    the jobs after their current round and closes the pool. ``reuse_port``: share the port with sibling processes
    (SO_REUSEPORT), as the children of `serve --processes N` do. ``access_log``: a line per request."""
    runner_args.setdefault("access_log_class", AccessLogger)
    runner_args.setdefault("access_log", ACCESS_LOG if access_log else None)
    runner = JsonErrorRunner(app, **runner_args)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
        log.info("listening on %s:%d (pid %d)", host, port, os.getpid())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
