"""Webhook URL checks: http(s) only, and no private, loopback or metadata addresses after DNS resolution."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from coinvoice.domain.errors import Invalid

FIELD = "webHookUrl"
MAX_URL = 2048
Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def why_not_public(ip: IPAddress) -> str | None:
    """The reason an address must not receive webhooks, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        (ip.is_loopback, "a loopback"),
        (ip.is_link_local, "a link-local (cloud metadata)"),
        (ip.is_multicast, "a multicast"),
        (ip.is_unspecified, "an unspecified"),
        (ip.is_private, "a private"),
        (ip.is_reserved, "a reserved"),
        (not ip.is_global, "a non-public"),
    )
    return next((f"{what} address" for hit, what in checks if hit), None)


def parse_webhook_url(url: object) -> tuple[str, int]:
    """(host, port) of an absolute http(s) URL, or Invalid."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise Invalid("invalid_url", f"webHookUrl must be an http(s) URL of at most {MAX_URL} characters", FIELD)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Invalid("invalid_url", f"webHookUrl is not a valid URL: {exc}", FIELD) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("invalid_url", "webHookUrl must be an absolute http or https URL", FIELD)
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check_webhook_url(url: object, *, allow_private: bool, resolve: Resolver = resolve_host) -> None:
    """Raise Invalid unless ``url`` is http(s) and every address its host resolves to is public."""
    host, port = parse_webhook_url(url)
    if allow_private:
        return
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in await resolve(host, port)]
        except OSError as exc:
            raise Invalid("webhook_url_unresolvable", f"cannot resolve {host}: {exc}", FIELD) from None
    if not addresses:
        raise Invalid("webhook_url_unresolvable", f"{host} resolves to no address", FIELD)
    for ip in addresses:
        if reason := why_not_public(ip):
            raise Invalid(
                "webhook_url_not_public",
                f"webHookUrl host {host} resolves to {ip}, {reason}; webhooks go only to public addresses"
                " (an operator may allow private ones with COINVOICE_WEBHOOK_ALLOW_PRIVATE=true)",
                FIELD,
            )


class PublicOnlyResolver(AbstractResolver):
    """An aiohttp resolver that refuses non-public addresses at connect time.

    The URL check resolves the name once; a name can resolve differently a moment later (DNS rebinding).
    The webhook client connects only to addresses this resolver returned, so the check holds for the very
    addresses the request goes to.
    """

    def __init__(self, inner: AbstractResolver | None = None):
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if reason := why_not_public(ipaddress.ip_address(result["host"].split("%")[0])):
                raise OSError(f"{host} resolves to {result['host']}, {reason}: refused for webhooks")
        return results

    async def close(self) -> None:
        await self._inner.close()
