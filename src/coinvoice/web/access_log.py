"""The access log: one short line per HTTP request (COINVOICE_ACCESS_LOG, on by default).

aiohttp's own access logger interprets an Apache-style format string for every request; this one formats a
fixed line, so that the access log costs a few microseconds rather than a tenth of a small request's CPU."""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

ACCESS_LOG = logging.getLogger("aiohttp.access")


class AccessLogger(AbstractAccessLogger):
    """``<peer> "<method> <path?query>" <status> <body bytes> <ms>ms``, with the request id for JSON lines."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %d %.1fms',
            request.remote,
            request.method,
            request.path_qs,
            response.status,
            response.body_length,
            time * 1000,
            extra={"requestId": response.headers.get("X-Request-Id")},
        )
