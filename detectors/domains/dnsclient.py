"""Questions to the configured resolver, asked and read by dnspython.

dnspython builds each query (`dns.message.make_query`: a random id, recursion desired)
and reads each answer (`dns.asyncquery.udp_with_fallback`: parsed by
`dns.message.from_wire`, accepted only when it answers the question asked, TCP when the
UDP answer is truncated). The sweep's target is a polite query rate to one resolver
(tens of questions a second), far below what this does on one core, so there is no
transport of our own.

Nothing here raises for DNS trouble: a timeout, a refused or malformed answer, an
unreachable resolver all come back as a `Reply` whose `failure` says what happened.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Protocol

import dns.asyncbackend
import dns.asyncquery
import dns.exception
import dns.inet
import dns.message
import dns.name
import dns.rdatatype
import dns.resolver
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.SOA import SOA

from detectors.domains.ratelimit import TokenBucket


@dataclass(frozen=True, slots=True)
class Reply:
    """The resolver's rcode and the NS, MX and SOA records it gave for the name asked,
    or why there is no answer (`failure`: timeout, error)."""

    rcode: int | None = None
    ns: tuple[str, ...] = ()
    mx: tuple[tuple[int, str], ...] = ()
    soa: tuple[str, str, int] | None = None  # mname, rname, serial
    failure: str | None = None
    detail: str = ""


def _host(name: dns.name.Name) -> str:
    # dnspython's spelling: a NUL, a "." or a non-ASCII byte inside a label is escaped
    # (\000, \., \255), so no stored host name holds a byte PostgreSQL refuses or a
    # label boundary that is not one.
    return name.to_text(omit_final_dot=True).lower()


def reply_from_message(message: dns.message.Message, qname: dns.name.Name) -> Reply:
    """The rcode and the records owned by `qname` (others, e.g. glue, are not about it)."""
    ns: list[str] = []
    mx: list[tuple[int, str]] = []
    soa: tuple[str, str, int] | None = None
    for rrset in message.answer:
        if rrset.name != qname:
            continue
        for rdata in rrset:
            if isinstance(rdata, NS):
                ns.append(_host(rdata.target))
            elif isinstance(rdata, MX):
                mx.append((rdata.preference, _host(rdata.exchange)))
            elif isinstance(rdata, SOA) and soa is None:
                soa = (_host(rdata.mname), _host(rdata.rname), rdata.serial)
    return Reply(rcode=int(message.rcode()), ns=tuple(ns), mx=tuple(mx), soa=soa)


def query_name(domain: str) -> dns.name.Name:
    """The absolute name of an A-label domain, its label bytes taken as they are.

    Not `dns.name.from_text`: that reads backslash escapes, and encodes non-ASCII with
    IDNA 2003, which differs from the UTS 46 encoding the sweep's names come from
    (names.py); a name that is not ASCII is a bug upstream, refused here.
    Raises ValueError (dnspython's name errors included) for what is no domain name.
    """
    try:
        labels = [label.encode("ascii") for label in domain.rstrip(".").split(".")]
    except UnicodeEncodeError:
        raise ValueError(f"not an A-label name: {domain!r}") from None
    try:
        return dns.name.Name([*labels, b""])
    except dns.exception.DNSException as exc:
        raise ValueError(f"{domain!r}: {exc}") from None


class DnsTransport(Protocol):
    server: str

    async def query(self, name: str, rdtype: dns.rdatatype.RdataType) -> Reply: ...

    async def close(self) -> None: ...


def system_resolver() -> tuple[str, int]:
    """The first nameserver of the system configuration (/etc/resolv.conf)."""
    try:
        configured = dns.resolver.Resolver(configure=True).nameservers
    except dns.exception.DNSException:
        configured = []
    return (str(configured[0]), 53) if configured else ("127.0.0.1", 53)


def _server_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class DnsClient:
    """One resolver, asked through dnspython's async query functions; no cache."""

    def __init__(self, host: str, port: int, timeout: float, attempts: int) -> None:
        self.server = _server_text(host, port)
        self._host, self._port = host, port
        self._timeout, self._attempts = timeout, attempts
        self._address: str | None = host if dns.inet.is_address(host) else None

    async def _resolver_address(self) -> str:
        """The resolver's IP address (dnspython takes no host name); looked up once."""
        if self._address is None:
            infos = await asyncio.get_running_loop().getaddrinfo(
                self._host, self._port, type=socket.SOCK_DGRAM)
            self._address = str(infos[0][4][0])
        return self._address

    async def query(self, name: str, rdtype: dns.rdatatype.RdataType) -> Reply:
        try:
            qname = query_name(name)
        except ValueError as exc:
            return Reply(failure="error", detail=f"bad query name: {exc}")
        try:
            where = await self._resolver_address()
        except OSError as exc:
            return Reply(failure="error", detail=f"resolver {self.server} not found: {exc}")
        for _ in range(self._attempts):
            try:
                message = await self._ask(dns.message.make_query(qname, rdtype), where)
            except dns.exception.Timeout:
                continue
            except OSError as exc:
                return Reply(failure="error", detail=f"resolver unreachable: {exc}")
            except dns.exception.DNSException as exc:  # FormError, BadResponse, TrailingJunk...
                return Reply(failure="error",
                             detail=f"malformed answer: {type(exc).__name__}: {exc}")
            return reply_from_message(message, qname)
        return Reply(failure="timeout", detail=f"no answer from {self.server} in "
                     f"{self._attempts} tries of {self._timeout:g} s")

    async def _ask(self, query: dns.message.Message, where: str) -> dns.message.Message:
        # A connected socket, one per question: a closed port answers with an ICMP error
        # that fails the question at once (dnspython's own socket is not connected and
        # would wait for the timeout), and each question has its own source port.
        family = dns.inet.af_for_address(where)
        backend = dns.asyncbackend.get_backend("asyncio")
        sock = await backend.make_socket(  # type: ignore[no-untyped-call]  # dnspython's
            family, socket.SOCK_DGRAM, 0, None, (where, self._port))
        async with sock:
            message, _ = await dns.asyncquery.udp_with_fallback(
                query, where, timeout=self._timeout, port=self._port, udp_sock=sock,
                backend=backend)
        return message

    async def close(self) -> None:
        return None  # every question closes its own sockets


class Polite:
    """A transport that asks at most `rate` questions a second, on average, of its resolver.

    A sweep of a hundred thousand domains must not flood the one resolver it uses (issue
    18: at most 50 questions/s on average). A token bucket with a burst of one second's
    worth: a small sweep is not slowed, a large one is spread out. A retry after a
    timeout inside the client is part of the same question.
    """

    def __init__(self, inner: DnsTransport, rate: float) -> None:
        self.inner, self.server = inner, inner.server
        self.bucket = TokenBucket(rate, burst=max(1, int(rate)))
        self.asked = 0

    async def query(self, name: str, rdtype: dns.rdatatype.RdataType) -> Reply:
        await self.bucket.acquire()
        self.asked += 1
        return await self.inner.query(name, rdtype)

    async def close(self) -> None:
        await self.inner.close()
