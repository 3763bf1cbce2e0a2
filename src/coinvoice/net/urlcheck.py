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
from coinvoice.domain.text import url_problem

FIELD = "webHookUrl"
MAX_URL = 2048
Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


#: Ranges that are not public whatever the Python version's ``is_global`` says (192.0.0.0/24 is the IETF
#: protocol assignments block; only .9 and .10 there are globally reachable).
NOT_PUBLIC = (ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("100.64.0.0/10"))
PUBLIC_EXCEPTIONS = (ipaddress.ip_address("192.0.0.9"), ipaddress.ip_address("192.0.0.10"))
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, 6to4, Teredo (server and client) and NAT64."""
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if any(ip in net for net in NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [v4 for v4 in found if v4 is not None]


def why_not_public(ip: IPAddress) -> str | None:
    """The reason an address must not receive webhooks, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in embedded_ipv4(ip):
            if reason := why_not_public(inner):
                return f"{reason} wrapped in IPv6 ({inner})"
        if ip.ipv4_mapped is not None:
            return None
    checks = (
        (ip.is_loopback, "a loopback"),
        (ip.is_link_local, "a link-local (cloud metadata)"),
        (ip.is_multicast, "a multicast"),
        (ip.is_unspecified, "an unspecified"),
        (ip.is_private, "a private"),
        (ip.is_reserved, "a reserved"),
        (
            any(ip in net for net in NOT_PUBLIC if net.version == ip.version) and ip not in PUBLIC_EXCEPTIONS,
            "a special-purpose",
        ),
        (not ip.is_global, "a non-public"),
    )
    return next((f"{what} address" for hit, what in checks if hit), None)


def parse_webhook_url(url: object) -> tuple[str, int]:
    """(host, port) of an absolute http(s) URL, or Invalid."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise Invalid("invalid_url", f"webHookUrl must be an http(s) URL of at most {MAX_URL} characters", FIELD)
    if problem := url_problem(url):
        raise Invalid("invalid_url", f"webHookUrl {problem}", FIELD)
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
