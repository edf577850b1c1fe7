"""`warden domain check`: a full report for a few domains, as of a date.

Every domain gets the DNS tier (NS, MX, SOA; unless `skip_dns`) and the registry
(RDAP, or WHOIS where the TLD has none). With a store, the report also compares with
the stored history and with when the maintainers' emails were verified, and the
observations are recorded (no incidents are opened: that is the sweep's job).
Without history, "re-registered" means registered within the look-back window
(`everyone_every_days`) before the as-of date.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store.domain_models import Domain
from detectors.domains.dns import DnsObservation, DnsProbe
from detectors.domains.history import (
    DomainRow,
    HistoryWriter,
    last_found,
    load_row_by_name,
    references,
)
from detectors.domains.names import tld_of
from detectors.domains.registry import RegistryObservation, RegistryRecord, derive_state
from detectors.domains.rules import Facts, PastDns, RuleConfig, evaluate
from detectors.domains.settings import DomainsSection
from detectors.domains.sources import Registries, make_probe

UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CheckOptions:
    rdap_url: str | None = None
    resolver: str | None = None
    skip_dns: bool = False
    as_of: datetime | None = None


@dataclass(slots=True)
class _Past:
    row: DomainRow | None = None
    record: RegistryRecord | None = None
    verified: datetime | None = None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def _past(sessions: async_sessionmaker[AsyncSession] | None, name: str) -> _Past:
    if sessions is None:
        return _Past()
    async with sessions() as session:
        row = await load_row_by_name(session, name)
        if row is None:
            return _Past()
        found = await last_found(session, [row.id])
        refs = await references(session, [row.id])
    return _Past(row, found[row.id][0] if row.id in found else None, refs.get(row.id))


async def _record(
    sessions: async_sessionmaker[AsyncSession], name: str, now: datetime,
    dns_obs: DnsObservation | None, reg_obs: RegistryObservation, state: str,
) -> None:
    async with sessions.begin() as session:
        row = await load_row_by_name(session, name)
        if row is None:
            session.add(Domain(name=name, tld=tld_of(name), first_seen_at=now, dns_failures=0))
            await session.flush()
            row = await load_row_by_name(session, name)
            assert row is not None
        writer = HistoryWriter(now)
        if dns_obs is not None:
            writer.dns(row, dns_obs)
        writer.registry(row, reg_obs, state)
        await writer.flush(session)


def _facts(
    name: str, as_of: datetime, cfg: DomainsSection, past: _Past,
    dns_obs: DnsObservation | None, reg_obs: RegistryObservation,
) -> Facts:
    row = past.row
    if past.verified is not None:
        reference, label = past.verified, "the maintainer's email was verified"
    elif row is not None:
        reference, label = row.first_seen_at, "the domain was first seen"
    else:
        days = cfg.everyone_every_days
        reference, label = as_of - timedelta(days=days), f"the {days}-day look-back began"
    fresh_dns = dns_obs if dns_obs is not None and dns_obs.evidence else None
    previous: PastDns | None = row.past_dns() if row is not None else None
    nxdomain_now = fresh_dns is not None and fresh_dns.outcome == "nxdomain"
    since = row.nxdomain_since if row is not None and row.dns_outcome == "nxdomain" else None
    return Facts(
        domain=name, as_of=as_of, dns=fresh_dns,
        registry=reg_obs if reg_obs.evidence else None,
        previous_dns=previous, previous_registry=past.record, nxdomain_now=nxdomain_now,
        registry_unavailable=not reg_obs.evidence,
        nxdomain_since=since or (as_of if nxdomain_now else None),
        reference=reference, reference_label=label,
        critical=True,  # a report shows every signal, MX changes included
        mailbox_provider=name in {p.lower() for p in cfg.mailbox_providers},
    )


async def check_one(
    name: str, cfg: DomainsSection, opts: CheckOptions, probe: DnsProbe | None,
    registries: Registries, sessions: async_sessionmaker[AsyncSession] | None, now: datetime,
) -> dict[str, Any]:
    """The report for one registrable domain (see the command contract in DESIGN.md)."""
    as_of = opts.as_of or now
    dns_obs = None if probe is None else await probe.observe(name, mx=True, soa=True)
    reg_obs = await registries.lookup(name)
    past = await _past(sessions, name)
    state, reason = derive_state(reg_obs, as_of, cfg.expiring_days)
    hits = evaluate(_facts(name, as_of, cfg, past, dns_obs, reg_obs),
                    RuleConfig(cfg.expiring_days, tuple(cfg.parking_nameservers)))
    findings = [{"kind": h.kind, "severity": h.severity.value, "summary": h.summary}
                for h in sorted(hits, key=lambda h: -h.severity.rank)]
    if state == UNKNOWN:
        why = f"state unknown: {reason}"
        if dns_obs is not None and not dns_obs.evidence:
            why += f"; DNS {dns_obs.outcome} ({dns_obs.detail or 'no detail'}) is not evidence"
        findings.append({"kind": UNKNOWN, "severity": "info", "summary": why})
    if sessions is not None:
        await _record(sessions, name, now, dns_obs, reg_obs, state)
    record = reg_obs.record if reg_obs.evidence else None
    nameservers: list[str] = list(record.nameservers) if record else []
    if not nameservers and dns_obs is not None and dns_obs.evidence:
        nameservers = list(dns_obs.ns)
    return {
        "domain": name, "state": state,
        "expires": _iso(record.expires) if record else None,
        "registered": _iso(record.registered) if record else None,
        "last_changed": _iso(record.last_changed) if record else None,
        "registrar": record.registrar if record else None,
        "nameservers": nameservers,
        "statuses": list(record.statuses) if record else [],
        "findings": findings,
    }


async def check_domains(
    names: list[str], cfg: DomainsSection, opts: CheckOptions,
    sessions: async_sessionmaker[AsyncSession] | None, now: datetime,
) -> list[dict[str, Any]]:
    """Reports in the order of `names` (registrable domains, already normalized)."""
    probe = None if opts.skip_dns else make_probe(cfg, opts.resolver)
    registries = Registries.from_settings(cfg, rdap_url=opts.rdap_url)
    try:
        return list(await asyncio.gather(*(
            check_one(n, cfg, opts, probe, registries, sessions, now) for n in names)))
    finally:
        if probe is not None:
            await probe.close()
        await registries.close()
