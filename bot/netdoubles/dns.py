"""A DNS server on a loopback port (UDP and TCP), answering from dnspython zones.

It plays the resolver the bot is configured with: recursion-available, authoritative
for the zones it holds, NXDOMAIN for every other name. Per-zone behaviours simulate
what a sweep must survive: `servfail`, `refused`, `timeout` (the query is dropped),
`truncate` (TC over UDP, the full answer over TCP) and `garbage` (bytes that are not
a DNS message); `set_raw` has a function make a name's answers from the query's bytes
(forged, corrupted or mismatched answers for hostile-input tests). An optional
`synthetic` function makes up zones on demand, so a benchmark can serve 100,000
domains without building them up front.

Answers are cached as wire bytes by question, and the cache is dropped on every
change, so a test can edit a zone between two sweeps. Mutators may be called from
another thread (the lock covers them and the answering).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

BEHAVIOURS = frozenset({"answer", "nxdomain", "servfail", "refused", "timeout", "truncate",
                        "garbage"})
CACHE_LIMIT = 400_000


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """The records of a zone apex; hosts without a trailing dot are taken as absolute."""

    ns: tuple[str, ...] = ("ns1.dns-host.example", "ns2.dns-host.example")
    mx: tuple[str, ...] = ("10 mail.dns-host.example",)
    a: tuple[str, ...] = ("192.0.2.10",)
    behaviour: str = "answer"


def _absolute(host: str) -> str:
    return host if host.endswith(".") else host + "."


@functools.lru_cache(maxsize=4096)
def _rdataset(rdtype: str, values: tuple[str, ...]) -> dns.rdataset.Rdataset:
    # Shared between zones with the same records (a benchmark has 100,000 of them).
    return dns.rdataset.from_text("IN", rdtype, 3600, *values)


def _apex_values(spec: ZoneSpec) -> dict[str, tuple[str, ...]]:
    primary = _absolute(spec.ns[0]) if spec.ns else "ns.invalid."
    return {
        "SOA": (f"{primary} hostmaster.{primary} 1 7200 3600 1209600 3600",),
        "NS": tuple(_absolute(h) for h in spec.ns),
        "MX": tuple(f"{m.split()[0]} {_absolute(m.split()[1])}" for m in spec.mx),
        "A": spec.a,
    }


@functools.lru_cache(maxsize=65_536)
def _rdata_wire(rdtype: str, text: str) -> bytes:
    wire = dns.rdata.from_text("IN", rdtype, text).to_wire()
    assert wire is not None  # returned when no file is given
    return wire


def _apex_rdatas(spec: ZoneSpec, rdtype: str) -> list[bytes]:
    return [_rdata_wire(rdtype, value) for value in _apex_values(spec).get(rdtype, ())]


def build_zone(name: str, spec: ZoneSpec, only: str | None = None) -> dns.zone.Zone:
    """A dnspython zone for `name` holding `spec`'s apex records and a SOA.

    `only` keeps just that record type (and the SOA): synthetic zones are built per
    question, and building the rest would be wasted.
    """
    zone = dns.zone.Zone(dns.name.from_text(name))
    for rdtype, values in _apex_values(spec).items():
        if values and (only is None or rdtype in (only, "SOA")):
            zone.replace_rdataset("@", _rdataset(rdtype, values))
    return zone


class DnsDouble:
    """The server. `set_zone`, `set_behaviour`, `remove` change what it answers."""

    def __init__(self, synthetic: Callable[[str], ZoneSpec | None] | None = None) -> None:
        self._zones: dict[dns.name.Name, tuple[dns.zone.Zone | None, str]] = {}
        self._raw: dict[dns.name.Name, Callable[[bytes], bytes | None]] = {}
        self._synthetic = synthetic
        self._cache: dict[bytes, bytes] = {}
        self._lock = threading.Lock()
        self.queries = 0
        self.asked: Counter[str] = Counter()  # questions per name (off for benchmarks)
        self.count_names = synthetic is None
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    # -- what it answers ---------------------------------------------------------------

    def set_zone(self, name: str, spec: ZoneSpec | None = None) -> None:
        spec = spec or ZoneSpec()
        key = dns.name.from_text(name)
        with self._lock:
            self._zones[key] = (build_zone(name, spec), spec.behaviour)
            self._raw.pop(key, None)
            self._cache.clear()

    def set_raw(self, name: str, answer: Callable[[bytes], bytes | None]) -> None:
        """Answer questions about exactly `name`, over UDP and TCP, with whatever `answer`
        makes of the query message's bytes (None: stay silent). Never cached."""
        key = dns.name.from_text(name)
        with self._lock:
            self._raw[key] = answer
            self._zones.pop(key, None)
            self._cache.clear()

    def set_behaviour(self, name: str, behaviour: str) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        key = dns.name.from_text(name)
        with self._lock:
            zone, _ = self._zones.get(key, (None, "answer"))
            self._zones[key] = (zone, behaviour)
            self._cache.clear()

    def remove(self, name: str) -> None:
        """The name no longer exists: NXDOMAIN."""
        key = dns.name.from_text(name)
        with self._lock:
            self._zones.pop(key, None)
            self._raw.pop(key, None)
            self._cache.clear()

    def _find(
        self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> tuple[dns.zone.Zone | None, str]:
        name = qname
        while True:
            if name in self._zones:
                return self._zones[name]
            if name == dns.name.root or len(name.labels) <= 1:
                break
            name = name.parent()
        if self._synthetic is not None:
            text = qname.to_text(omit_final_dot=True)
            spec = self._synthetic(text)
            if spec is not None:
                return build_zone(text, spec, dns.rdatatype.to_text(rdtype)), spec.behaviour
        return None, "nxdomain"

    # -- answering ---------------------------------------------------------------------

    def respond(self, wire: bytes, *, tcp: bool) -> bytes | None:
        """The answer to one query message, or None to stay silent."""
        with self._lock:
            self.queries += 1
            if self.count_names and len(wire) > 12:
                with contextlib.suppress(dns.exception.DNSException):
                    self.asked[dns.name.from_wire(wire, 12)[0].to_text(True).lower()] += 1
            key = (b"T" if tcp else b"U") + wire[2:]
            cached = self._cache.get(key)
            if cached is not None:
                return wire[:2] + cached[2:]
            if self._synthetic is not None and not self._zones and not self._raw:
                fast = self._synthetic_answer(wire)
                if fast is not None:
                    return fast
            try:
                query = dns.message.from_wire(wire)
            except dns.exception.DNSException:
                return None
            if not query.question:
                return None
            raw = self._raw.get(query.question[0].name)
            if raw is not None:
                return raw(wire)
            answer = self._answer(query, tcp)
            if answer is not None and len(self._cache) < CACHE_LIMIT:
                self._cache[key] = answer
            return answer

    def _synthetic_answer(self, wire: bytes) -> bytes | None:
        """Synthetic zones' plain answers, framed directly around dnspython-encoded
        records: building a zone and a message per question would make this double,
        not the client under test, the bottleneck of a benchmark. None: use the full path."""
        assert self._synthetic is not None
        try:
            qname, used = dns.name.from_wire(wire, 12)
        except dns.exception.DNSException:
            return None
        end = 12 + used
        if len(wire) < end + 4 or qname == dns.name.root:
            return None
        rdtype = dns.rdatatype.RdataType.make(int.from_bytes(wire[end:end + 2], "big"))
        spec = self._synthetic(qname.to_text(omit_final_dot=True).lower())
        if spec is not None and spec.behaviour != "answer":
            return None
        rdatas = [] if spec is None else _apex_rdatas(spec, dns.rdatatype.to_text(rdtype))
        rcode = dns.rcode.NXDOMAIN if spec is None else dns.rcode.NOERROR
        flags = 0x8000 | 0x0400 | 0x0080 | ((wire[2] & 0x01) << 8) | rcode
        header = wire[:2] + struct.pack(">HHHHH", flags, 1, len(rdatas), 0, 0)
        records = b"".join(b"\xc0\x0c" + struct.pack(">HHIH", rdtype, 1, 3600, len(r)) + r
                           for r in rdatas)
        return header + wire[12:end + 4] + records

    def _answer(self, query: dns.message.Message, tcp: bool) -> bytes | None:
        question = query.question[0]
        zone, behaviour = self._find(question.name, question.rdtype)
        if behaviour == "timeout":
            return None
        if behaviour == "garbage":
            return query.id.to_bytes(2, "big") + b"\x81\x80\xff\xff not dns"
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if behaviour in ("servfail", "refused"):
            response.set_rcode(dns.rcode.SERVFAIL if behaviour == "servfail" else dns.rcode.REFUSED)
            return response.to_wire()
        if behaviour == "truncate" and not tcp:
            response.flags |= dns.flags.TC
            return response.to_wire()
        if zone is None or behaviour == "nxdomain":
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response.to_wire()
        response.flags |= dns.flags.AA
        node = zone.get_node(question.name)
        rdataset = None if node is None else node.get_rdataset(dns.rdataclass.IN, question.rdtype)
        if rdataset is not None:
            response.answer.append(
                dns.rrset.from_rdata_list(question.name, rdataset.ttl, list(rdataset)))
        else:
            soa = zone.get_rdataset("@", dns.rdatatype.SOA)
            if soa is not None and zone.origin is not None:
                response.authority.append(
                    dns.rrset.from_rdata_list(zone.origin, soa.ttl, list(soa)))
            if node is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    # -- serving -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        double = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = cast(asyncio.DatagramTransport, transport)
                sock = transport.get_extra_info("socket")
                with contextlib.suppress(OSError):  # bursts of queries must not be dropped
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)

            def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
                out = double.respond(data, tcp=False)
                if out is not None:
                    self.transport.sendto(out, addr)

        # TCP first on port 0 picks a port; UDP then binds the same number.
        self._tcp = await asyncio.start_server(self._serve_tcp, host, port)
        bound = self._tcp.sockets[0].getsockname()[1]
        self._udp, _ = await loop.create_datagram_endpoint(Udp, local_addr=(host, bound))
        self.address = (host, bound)
        return self.address

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(2), "big")
                out = self.respond(await reader.readexactly(size), tcp=True)
                if out is None:
                    break
                writer.write(len(out).to_bytes(2, "big") + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def resolver(self) -> str:
        """`host:port`, as the `--resolver` option and `domains.resolver` take it."""
        return f"{self.address[0]}:{self.address[1]}"

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
