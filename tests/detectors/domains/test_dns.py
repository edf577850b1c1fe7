"""The DNS tier against the DNS double on a loopback port, through dnspython's queries."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from bot.netdoubles import DnsDouble, NetDoubles, ZoneSpec
from detectors.domains.dns import DnsProbe
from detectors.domains.dnsclient import DnsClient, Reply


def probe(doubles: NetDoubles, timeout: float = 0.25) -> DnsProbe:
    host, port = doubles.dns.address
    return DnsProbe(DnsClient(host, port, timeout, 2))


@pytest.fixture
def zones(doubles: NetDoubles) -> NetDoubles:
    dns = doubles.dns
    dns.set_zone("healthy.org", ZoneSpec(ns=("ns1.host.example", "ns2.host.example"),
                                         mx=("10 mx1.healthy.org", "20 mx2.healthy.org")))
    dns.set_zone("parked.com", ZoneSpec(ns=("ns1.sedoparking.com", "ns2.sedoparking.com"), mx=()))
    for name, behaviour in [("broken.org", "servfail"), ("silent.org", "timeout"),
                            ("refusing.org", "refused"), ("garbled.org", "garbage")]:
        dns.set_zone(name, ZoneSpec(behaviour=behaviour))
    dns.set_zone("big.org", ZoneSpec(ns=tuple(f"ns{i}.host.example" for i in range(4)),
                                     behaviour="truncate"))
    return doubles


async def test_answers_are_classified(zones: NetDoubles) -> None:
    dns = probe(zones)
    try:
        healthy = await dns.observe("healthy.org", mx=True, soa=True)
        assert healthy.outcome == "noerror"
        assert healthy.ns == ("ns1.host.example", "ns2.host.example")
        assert healthy.mx == ("10 mx1.healthy.org", "20 mx2.healthy.org")
        assert healthy.soa is not None and healthy.soa["mname"] == "ns1.host.example"
        assert healthy.evidence
        missing = await dns.observe("nosuchdomain.org", mx=True)
        assert (missing.outcome, missing.evidence, missing.mx) == ("nxdomain", True, None)
        parked = await dns.observe("parked.com", mx=True)
        assert parked.ns == ("ns1.sedoparking.com", "ns2.sedoparking.com") and parked.mx == ()
        big = await dns.observe("big.org")  # truncated over UDP, complete over TCP
        assert big.outcome == "noerror" and len(big.ns) == 4
    finally:
        await dns.close()


@pytest.mark.parametrize(("name", "outcome"), [
    ("broken.org", "servfail"), ("silent.org", "timeout"), ("refusing.org", "error"),
    ("garbled.org", "error"),
])
async def test_failures_are_never_evidence(zones: NetDoubles, name: str, outcome: str) -> None:
    dns = probe(zones, timeout=0.15)
    try:
        obs = await dns.observe(name, mx=True)
    finally:
        await dns.close()
    assert obs.outcome == outcome
    assert not obs.evidence and obs.ns == () and obs.mx is None


async def test_a_resolver_that_is_not_there_fails_fast_not_as_evidence() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed right after: nobody listens there
    dns = DnsProbe(DnsClient("127.0.0.1", port, 2.0, 2))
    try:
        started = time.monotonic()
        obs = await dns.observe("healthy.org")
    finally:
        await dns.close()
    assert obs.outcome == "error" and not obs.evidence
    assert time.monotonic() - started < 1.5  # ICMP port unreachable, not a 4 s timeout


async def test_a_resolver_may_be_given_by_host_name() -> None:
    infos = await asyncio.get_running_loop().getaddrinfo("localhost", 0, type=socket.SOCK_DGRAM)
    server = DnsDouble()
    _, port = await server.start(str(infos[0][4][0]))  # where "localhost" leads
    server.set_zone("healthy.org", ZoneSpec(ns=("ns1.host.example",)))
    dns = DnsProbe(DnsClient("localhost", port, 1.0, 1))
    try:
        obs = await dns.observe("healthy.org")
    finally:
        await dns.close()
        await server.stop()
    assert (obs.outcome, obs.ns, obs.server) == ("noerror", ("ns1.host.example",),
                                                 f"localhost:{port}")


async def test_a_resolver_name_that_does_not_resolve_is_an_error_not_evidence(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def unknown(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # Patched: a real look-up of a name that does not exist would leave this machine.
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", unknown)
    dns = DnsProbe(DnsClient("resolver.invalid", 53, 1.0, 1))
    obs = await dns.observe("healthy.org")
    assert (obs.outcome, obs.evidence) == ("error", False)
    assert obs.detail.startswith("resolver resolver.invalid:53 not found: ")


async def test_many_queries_in_flight_each_get_their_own_answer(zones: NetDoubles) -> None:
    for i in range(300):
        zones.dns.set_zone(f"n{i}.net", ZoneSpec(ns=(f"ns.h{i}.example",)))
    dns = probe(zones, timeout=2.0)
    try:
        results = await asyncio.gather(*(dns.observe(f"n{i}.net") for i in range(300)))
    finally:
        await dns.close()
    assert [r.ns for r in results] == [(f"ns.h{i}.example",) for i in range(300)]


async def test_ns_names_with_odd_bytes_are_escaped(doubles: NetDoubles) -> None:
    # A NUL or a "." inside a label is no host name; spelt raw, a NUL cannot be stored
    # (PostgreSQL text) and "a.b" would be another name.
    doubles.dns.set_zone("odd.org", ZoneSpec(ns=("ns\\000.odd.example", "a\\.b.odd.example",
                                                 "\\255x.odd.example")))
    dns = probe(doubles, timeout=0.5)
    try:
        obs = await dns.observe("odd.org")
    finally:
        await dns.close()
    assert obs.outcome == "noerror"
    assert obs.ns == ("\\255x.odd.example", "a\\.b.odd.example", "ns\\000.odd.example")


async def test_timeout_says_what_and_how_long(doubles: NetDoubles) -> None:
    doubles.dns.set_zone("silent.org", ZoneSpec(behaviour="timeout"))
    dns = probe(doubles, timeout=0.1)
    try:
        obs = await dns.observe("silent.org")
    finally:
        await dns.close()
    assert (obs.outcome, obs.evidence) == ("timeout", False)
    assert obs.detail == f"no answer from {doubles.dns.resolver} in 2 tries of 0.1 s"


class Exploding:
    """A transport failing as a bug in a parser would: not with a DNS error."""

    server = "127.0.0.1:1"

    async def query(self, name: str, rdtype: Any) -> Reply:
        raise UnicodeError("label empty or too long")

    async def close(self) -> None:
        return None


async def test_unexpected_error_is_an_observation_not_an_exception() -> None:
    obs = await DnsProbe(Exploding()).observe("example.org")
    assert (obs.outcome, obs.evidence, obs.server) == ("error", False, "127.0.0.1:1")
    assert obs.detail == "lookup failed: UnicodeError: label empty or too long"
