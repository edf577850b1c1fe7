"""Which addresses the RDAP client may connect to when an answer sends it elsewhere.

A redirect is chosen by whoever runs (or has taken over) an RDAP server, so following
one to an internal address would let that server make the bot send requests inside
its own network: a loopback admin port, a private service, the cloud metadata
endpoint (169.254.169.254, fd00:ec2::254). Only public unicast addresses pass.

The check is on the addresses a name resolves to, not on the name, and it is made in
the resolver that the connection itself uses (`PublicOnlyResolver`): the socket is
opened to exactly the addresses that were checked, so a name that answers with a
public address first and a private one a moment later (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64 prefixes (RFC 6052, 8215): the gateway forwards to the IPv4 address in the low bits.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class RefusedAddress(OSError):
    """A connection the egress policy does not allow; str() says why."""


def address_refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, or None when it is one."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address in IPv6 clothes (::ffff:a.b.c.d, NAT64) goes where the IPv4 one goes.
        translated = address.ipv4_mapped
        if translated is None and any(address in net for net in _NAT64):
            translated = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if translated is not None:
            why = address_refusal(translated)
            return None if why is None else f"{address} stands for {why}"
        relay = address.sixtofour  # 6to4: reached through the IPv4 address it embeds
        if relay is not None and (why := address_refusal(relay)) is not None:
            return f"{address} embeds {why}"
    for flag, what in (
        ("is_loopback", "a loopback address"), ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"), ("is_unspecified", "the unspecified address"),
        ("is_reserved", "a reserved address"), ("is_private", "a private address"),
    ):
        if getattr(address, flag):
            return f"{address} is {what}"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return f"{address} is a site-local address"
    if not address.is_global:  # shared address space (100.64/10) and the like
        return f"{address} is not a public address"
    return None


def literal_refusal(host: str) -> str | None:
    """For a host that is an IP literal: why it is refused (None: public); names pass."""
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None
    return address_refusal(address)


class PublicOnlyResolver(AbstractResolver):
    """Resolves through `inner` and refuses a name if any of its addresses is not public.

    Refusing the whole name (rather than dropping the bad addresses) is deliberate: a
    registry whose name also points inside our network is not one to talk to.
    """

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner
        self._owned = inner is None  # closed here only if created here

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET,
    ) -> list[ResolveResult]:
        if self._inner is None:  # created here: it needs the running loop
            self._inner = DefaultResolver()
        results = await self._inner.resolve(host, port, family)
        if not results:
            raise RefusedAddress(f"{host} resolves to no address")
        for result in results:
            why = _result_refusal(result)
            if why is not None:
                raise RefusedAddress(f"{host} resolves to {why}")
        return results

    async def close(self) -> None:
        if self._owned and self._inner is not None:
            await self._inner.close()
            self._inner = None


def _result_refusal(result: ResolveResult | dict[str, Any]) -> str | None:
    try:
        address = ipaddress.ip_address(str(result["host"]).split("%")[0])
    except ValueError:
        return f"{result['host']!r}, which is not an IP address"
    return address_refusal(address)
