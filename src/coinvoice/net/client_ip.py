"""The client's address behind trusted reverse proxies: the rightmost X-Forwarded-For hop that is not a proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(raw: str) -> Address | None:
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is the IPv4 peer of a dual-stack socket
    return address


def _trusted(address: Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_ip(peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[Network]) -> str:
    """The address to treat as the client's.

    ``peer`` is the TCP peer and ``forwarded_for`` the X-Forwarded-For header values in order. The header is used
    only when the peer is a trusted proxy; then each hop right to left is taken as the one that called the next,
    and the first one that is not itself a trusted proxy is the client (hops further left are the client's own
    claims, which anyone can forge). A malformed hop ends the walk at the proxy that added it, so a forged value
    never becomes a key of its own. When every hop is a trusted proxy the leftmost one is the client.
    """
    if peer is None:
        return "unknown"
    address = _address(peer)
    if address is None or not _trusted(address, proxies):
        return str(address) if address is not None else peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        parsed = _address(hop)
        if parsed is None:
            return str(address)
        address = parsed
        if not _trusted(address, proxies):
            return str(address)
    return str(address)
