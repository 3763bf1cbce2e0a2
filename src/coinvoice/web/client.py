"""Who is calling: the client's address, through the reverse proxies COINVOICE_TRUSTED_PROXIES names."""

from __future__ import annotations

from aiohttp import web

from coinvoice.appkeys import SETTINGS
from coinvoice.net.client_ip import client_ip


def client_address(request: web.Request) -> str:
    """The TCP peer, or, when the peer is a trusted proxy, the rightmost X-Forwarded-For hop that is not one."""
    return client_ip(
        request.remote, request.headers.getall("X-Forwarded-For", []), request.app[SETTINGS].trusted_proxies
    )
