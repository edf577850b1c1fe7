"""The DNS tier: what the resolver says about a registrable domain, classified.

Outcomes: `noerror` (NS records), `nodata` (the name exists, no NS), `nxdomain`, and
the three that are never evidence of anything: `servfail`, `timeout`, `error`. Only
the first three count as an answer; the others are stored, retried in a later sweep
and never raise an incident about the domain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import dns.rcode
import dns.rdatatype
import structlog

from detectors.domains.dnsclient import DnsTransport, Reply

EVIDENCE = frozenset({"noerror", "nodata", "nxdomain"})
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DnsObservation:
    """One look at a domain through the resolver."""

    outcome: str
    ns: tuple[str, ...] = ()
    mx: tuple[str, ...] | None = None  # None: not asked, or no usable answer
    soa: dict[str, Any] | None = None
    detail: str = ""
    server: str = ""

    @property
    def evidence(self) -> bool:
        return self.outcome in EVIDENCE

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ns": list(self.ns)}
        if self.mx is not None:
            data["mx"] = list(self.mx)
        if self.soa is not None:
            data["soa"] = self.soa
        if self.detail:
            data["detail"] = self.detail
        return data

    def fingerprint(self) -> str:
        # SOA serials change with every zone edit; they are kept but not compared.
        key = {"outcome": self.outcome, "ns": self.ns, "mx": self.mx}
        return fingerprint(key)


def fingerprint(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def classify(reply: Reply) -> str:
    """The outcome of an NS query: an answer kind, or the kind of failure."""
    if reply.failure is not None:
        return reply.failure
    rcode = reply.rcode
    if rcode == dns.rcode.NXDOMAIN:
        return "nxdomain"
    if rcode == dns.rcode.NOERROR:
        return "noerror"
    if rcode == dns.rcode.SERVFAIL:
        return "servfail"
    return "error"  # REFUSED, FORMERR, NOTIMP...


class DnsProbe:
    """Asks NS (always), MX and SOA (when wanted) for registrable domains."""

    def __init__(self, transport: DnsTransport) -> None:
        self.transport = transport

    async def observe(self, domain: str, *, mx: bool = False, soa: bool = False) -> DnsObservation:
        """Never raises: whatever goes wrong is an `error` observation (never evidence)."""
        try:
            return await self._observe(domain, mx=mx, soa=soa)
        except Exception as exc:  # one domain's answer must not stop a sweep of thousands
            log.exception("dns.observe_failed", domain=domain)
            return DnsObservation("error", detail=f"lookup failed: {type(exc).__name__}: {exc}"[:300],
                                  server=self.transport.server)

    async def _observe(self, domain: str, *, mx: bool, soa: bool) -> DnsObservation:
        server = self.transport.server
        reply = await self.transport.query(domain, dns.rdatatype.NS)
        outcome = classify(reply)
        if outcome != "noerror":
            detail = reply.detail or (
                "" if reply.rcode is None
                else f"rcode {dns.rcode.to_text(dns.rcode.Rcode.make(reply.rcode))}")
            return DnsObservation(outcome, detail=detail if outcome not in EVIDENCE else "",
                                  server=server)
        ns = tuple(sorted(set(reply.ns)))
        if not ns:
            outcome = "nodata"
        mx_hosts = await self._mx(domain) if mx else None
        soa_data = await self._soa(domain) if soa else None
        return DnsObservation(outcome, ns=ns, mx=mx_hosts, soa=soa_data, server=server)

    async def _mx(self, domain: str) -> tuple[str, ...] | None:
        reply = await self.transport.query(domain, dns.rdatatype.MX)
        if classify(reply) != "noerror":
            return None  # no usable answer: an MX comparison would be a guess
        return tuple(sorted({f"{pref} {host}" for pref, host in reply.mx}))

    async def _soa(self, domain: str) -> dict[str, Any] | None:
        reply = await self.transport.query(domain, dns.rdatatype.SOA)
        if reply.soa is None:
            return None
        mname, rname, serial = reply.soa
        return {"mname": mname, "rname": rname, "serial": serial}

    async def close(self) -> None:
        await self.transport.close()
