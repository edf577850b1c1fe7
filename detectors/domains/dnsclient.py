"""Two ways to ask the configured resolver, both on dnspython, with one result type.

- `ResolverTransport`: dnspython's async stub resolver, one socket per query. The
  reference behaviour, and the same-run baseline of the benchmark.
- `PipelinedTransport`: many queries in flight over a few long-lived UDP sockets,
  matched to their answers by message id, read by `dnswire` (dnspython's
  `dns.asyncquery.tcp` when an answer is truncated). dnspython spends most of its
  time per query on a socket and on building and parsing message objects; a sweep of
  100,000 domains needs several times its rate on a shared core, so the sweep uses
  this one by default (bench/domains.py prints both).

Neither raises for DNS trouble: a timeout, SERVFAIL, a refused or malformed answer all
come back as a `Reply` whose `failure` says what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from dataclasses import dataclass
from typing import Protocol, cast

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.SOA import SOA

from detectors.domains import dnswire
from detectors.domains.dnswire import Record

SOCKETS = 4  # spread queries over a few source ports
RECEIVE_BUFFER = 1 << 20  # answers to hundreds of queries in flight must not be dropped


def grow_receive_buffer(transport: asyncio.BaseTransport, size: int = RECEIVE_BUFFER) -> None:
    """Ask for a larger socket receive buffer (the kernel caps it at net.core.rmem_max)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


@dataclass(frozen=True, slots=True)
class Reply:
    """The resolver's rcode and answer records for the name asked, or why there is
    none (`failure`: timeout, servfail, error)."""

    rcode: int | None = None
    records: tuple[Record, ...] = ()
    failure: str | None = None
    detail: str = ""


def _host(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def reply_from_message(message: dns.message.Message) -> Reply:
    """The same `Reply` from a message dnspython parsed (resolver and TCP paths)."""
    if not message.question:
        return Reply(failure="error", detail="answer without a question")
    qname = message.question[0].name
    records: list[Record] = []
    for rrset in message.answer:
        if rrset.name != qname:
            continue
        for rdata in rrset:
            if isinstance(rdata, NS):
                records.append(Record(dnswire.NS, _host(rdata.target)))
            elif isinstance(rdata, MX):
                records.append(Record(dnswire.MX, (rdata.preference, _host(rdata.exchange))))
            elif isinstance(rdata, SOA):
                records.append(Record(dnswire.SOA, (_host(rdata.mname), _host(rdata.rname),
                                                    rdata.serial)))
    return Reply(rcode=int(message.rcode()), records=tuple(records))


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


class ResolverTransport:
    """dnspython's `dns.asyncresolver.Resolver`, pointed at one server, no cache."""

    def __init__(self, host: str, port: int, timeout: float, attempts: int) -> None:
        self.server = _server_text(host, port)
        self._resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver.nameservers = [host]
        self._resolver.port = port
        self._resolver.cache = None
        self._resolver.retry_servfail = False
        self._resolver.timeout = timeout
        self._lifetime = timeout * attempts

    async def query(self, name: str, rdtype: dns.rdatatype.RdataType) -> Reply:
        try:
            answer = await self._resolver.resolve(
                name, rdtype, raise_on_no_answer=False, search=False, lifetime=self._lifetime
            )
        except dns.resolver.NXDOMAIN as exc:
            responses = list((exc.kwargs.get("responses") or {}).values())
            return reply_from_message(responses[0]) if responses else Reply(failure="error")
        except dns.resolver.LifetimeTimeout:
            return Reply(failure="timeout",
                         detail=f"no answer from {self.server} within {self._lifetime:g} s")
        except dns.resolver.NoNameservers as exc:
            # errors: (server, tcp, port, error, response) for each failed try
            errors = exc.kwargs.get("errors") or []
            servfail = any(
                isinstance(e[-1], dns.message.Message) and e[-1].rcode() == dns.rcode.SERVFAIL
                for e in errors
            )
            return Reply(failure="servfail" if servfail else "error", detail=str(exc))
        except dns.exception.DNSException as exc:
            return Reply(failure="error", detail=f"{type(exc).__name__}: {exc}")
        return reply_from_message(answer.response)

    async def close(self) -> None:
        return None


class _Mux(asyncio.DatagramProtocol):
    """One UDP socket; answers are routed to the waiting query by message id."""

    def __init__(self) -> None:
        self.waiting: dict[int, asyncio.Future[bytes]] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        grow_receive_buffer(transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) < 12:
            return
        waiter = self.waiting.get(int.from_bytes(data[:2], "big"))
        if waiter is not None and not waiter.done():
            waiter.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # e.g. ICMP port unreachable: the resolver is not there; fail fast, not by timeout.
        for waiter in self.waiting.values():
            if not waiter.done():
                waiter.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.error_received(exc or ConnectionError("socket closed"))
        self.transport = None


def _expire(waiter: asyncio.Future[bytes]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class PipelinedTransport:
    """Many queries in flight over a few connected UDP sockets."""

    def __init__(self, host: str, port: int, timeout: float, attempts: int) -> None:
        self.server = _server_text(host, port)
        self._host, self._port = host, port
        self._timeout, self._attempts = timeout, attempts
        self._muxes: list[_Mux] = []
        self._turn = 0
        self.unanswered = 0  # tries that timed out (lost or late answers), for the bench
        self._opening = asyncio.Lock()

    async def _mux(self) -> _Mux:
        if len(self._muxes) < SOCKETS:
            async with self._opening:
                loop = asyncio.get_running_loop()
                while len(self._muxes) < SOCKETS:
                    _, mux = await loop.create_datagram_endpoint(
                        _Mux, remote_addr=(self._host, self._port)
                    )
                    self._muxes.append(mux)
        self._turn = (self._turn + 1) % len(self._muxes)
        return self._muxes[self._turn]

    async def query(self, name: str, rdtype: dns.rdatatype.RdataType) -> Reply:
        try:
            wire, question = dnswire.encode_query(0, name, int(rdtype))
        except dnswire.WireError as exc:
            return Reply(failure="error", detail=f"bad query name: {exc}")
        loop = asyncio.get_running_loop()
        for _ in range(self._attempts):
            mux = await self._mux()
            if mux.transport is None:
                return Reply(failure="error", detail="resolver socket closed")
            qid = self._free_id(mux)
            waiter: asyncio.Future[bytes] = loop.create_future()
            mux.waiting[qid] = waiter
            timer = loop.call_later(self._timeout, _expire, waiter)
            try:
                mux.transport.sendto(qid.to_bytes(2, "big") + wire[2:])
                data = await waiter
            except TimeoutError:
                self.unanswered += 1
                continue
            except OSError as exc:
                return Reply(failure="error", detail=f"resolver unreachable: {exc}")
            finally:
                timer.cancel()
                mux.waiting.pop(qid, None)
            return await self._read(name, rdtype, question, data)
        return Reply(failure="timeout", detail=f"no answer from {self.server} in "
                     f"{self._attempts} tries of {self._timeout:g} s")

    async def _read(
        self, name: str, rdtype: dns.rdatatype.RdataType, question: bytes, data: bytes
    ) -> Reply:
        try:
            answer = dnswire.parse_answer(data, question)
        except dnswire.WireError as exc:
            return Reply(failure="error", detail=f"malformed answer: {exc}")
        if not answer.truncated:
            return Reply(rcode=answer.rcode, records=answer.records)
        try:  # rare: let dnspython do the TCP exchange
            message = await dns.asyncquery.tcp(dns.message.make_query(name, rdtype), self._host,
                                               timeout=self._timeout, port=self._port)
        except (dns.exception.DNSException, OSError) as exc:
            return Reply(failure="error", detail=f"truncated, and TCP failed: {exc}")
        return reply_from_message(message)

    @staticmethod
    def _free_id(mux: _Mux) -> int:
        # Random ids (not a counter) so an off-path guesser cannot predict them.
        while True:
            candidate = secrets.randbits(16)
            if candidate not in mux.waiting:
                return candidate

    async def close(self) -> None:
        for mux in self._muxes:
            if mux.transport is not None:
                mux.transport.close()
        self._muxes.clear()


def make_transport(
    kind: str, host: str, port: int, timeout: float, attempts: int
) -> DnsTransport:
    if kind == "resolver":
        return ResolverTransport(host, port, timeout, attempts)
    return PipelinedTransport(host, port, timeout, attempts)
