"""Planning a sweep: which domains, in which order, and which may go on to the registry.

1. `sync_domains`: every verified maintainer email is linked to its registrable
   domain (new and changed addresses only; bad ones are counted, never raised).
   Domains are flagged critical when one of their accounts maintains a critical
   project, and as mailbox providers when listed in the settings.
2. `enqueue`: due domains go into `domain_sweep_queue`: flagged ones (priority 0) and
   critical maintainers' (1) every day, everyone else's (2) at least every
   `everyone_every_days`, with a daily share of the stalest so the work spreads out.
   A daily share of the domains whose registry data is oldest (queued for it if not
   due for DNS) is marked `stale`: the DNS tier sends those to RDAP even when DNS
   shows nothing wrong, so every domain's registry data is read every
   `registry_every_days`. Domains named with `only` are all marked `requested`: a
   check on demand is a full one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.domain_models import (
    AccountProject,
    Domain,
    DomainEmailLink,
    DomainSweep,
    DomainSweepItem,
)
from bot.store.models import Email, Project, Role
from detectors.domains.names import group_emails, registrable_domain, tld_of
from detectors.domains.settings import DomainsSection

SLACK = timedelta(hours=2)  # a domain checked at 03:00:05 yesterday is due at 03:00 today
BATCH = 900  # rows per statement (SQLite caps bound parameters)


@dataclass(slots=True)
class SyncStats:
    emails: int = 0
    linked: int = 0
    new_domains: int = 0
    bad: list[tuple[int, str, str]] = field(default_factory=list)


async def _domain_ids(
    session: AsyncSession, names: set[str], cfg: DomainsSection, now: datetime
) -> tuple[dict[str, int], int]:
    ids: dict[str, int] = {}
    wanted = sorted(names)
    for start in range(0, len(wanted), BATCH):
        part = wanted[start:start + BATCH]
        result = await session.execute(
            sa.select(Domain.name, Domain.id).where(Domain.name.in_(part)))
        ids.update({k: v for k, v in result.all()})
    missing = [n for n in wanted if n not in ids]
    providers = {p.lower() for p in cfg.mailbox_providers}
    for start in range(0, len(missing), BATCH):
        part = missing[start:start + BATCH]
        result = await session.execute(
            sa.insert(Domain).returning(Domain.name, Domain.id, sort_by_parameter_order=True),
            [{"name": n, "tld": tld_of(n), "first_seen_at": now, "critical": False,
              "mailbox_provider": n in providers, "dns_failures": 0} for n in part],
        )
        ids.update({k: v for k, v in result.all()})
    return ids, len(missing)


async def sync_domains(session: AsyncSession, cfg: DomainsSection, now: datetime) -> SyncStats:
    """Link verified emails to domains; refresh the critical and mailbox-provider flags."""
    stats = SyncStats()
    result = await session.execute(
        sa.select(Email.id, Email.email, DomainEmailLink.address)
        .outerjoin(DomainEmailLink, DomainEmailLink.email_id == Email.id)
        .where(Email.verified))
    rows = result.all()
    stats.emails = len(rows)
    changed = [(email_id, address) for email_id, address, linked in rows if linked != address]
    groups = group_emails(changed)
    stats.bad = groups.bad
    ids, stats.new_domains = await _domain_ids(session, set(groups.by_domain), cfg, now)
    addresses = dict(changed)
    links = [{"email_id": e, "domain_id": ids[d], "address": addresses[e][:512]}
             for d, emails in groups.by_domain.items() for e in emails]
    for start in range(0, len(links), BATCH):
        part = links[start:start + BATCH]
        await session.execute(sa.delete(DomainEmailLink).where(
            DomainEmailLink.email_id.in_([link["email_id"] for link in part])))
        await session.execute(sa.insert(DomainEmailLink), part)
    stats.linked = len(links)

    critical_domains = sa.union(
        sa.select(DomainEmailLink.domain_id)
        .join(Email, Email.id == DomainEmailLink.email_id)
        .join(Role, sa.and_(Role.account_id == Email.account_id, Role.removed_at.is_(None)))
        .join(Project, sa.and_(Project.id == Role.project_id, Project.critical))
        .where(Email.verified),
        # roles read from the index's database, on projects the ledger may not track
        sa.select(DomainEmailLink.domain_id)
        .join(Email, Email.id == DomainEmailLink.email_id)
        .join(AccountProject, AccountProject.account_id == Email.account_id)
        .join(Project, sa.and_(Project.normalized_name == AccountProject.project,
                               Project.critical))
        .where(Email.verified),
    )
    await session.execute(sa.update(Domain).values(critical=False)
                          .where(Domain.critical, Domain.id.not_in(critical_domains)))
    await session.execute(sa.update(Domain).values(critical=True)
                          .where(~Domain.critical, Domain.id.in_(critical_domains)))
    providers = sorted({p.lower() for p in cfg.mailbox_providers})
    await session.execute(sa.update(Domain).values(mailbox_provider=Domain.name.in_(providers)))
    return stats


async def enqueue(
    session: AsyncSession, cfg: DomainsSection, now: datetime, *,
    only: list[str] | None = None, critical_only: bool = False,
) -> DomainSweep:
    """Create a sweep and queue its due domains; returns the sweep row."""
    in_scope = sa.exists().where(
        DomainEmailLink.domain_id == Domain.id, Email.id == DomainEmailLink.email_id,
        Email.verified)
    query = sa.select(Domain.id, Domain.critical, Domain.flagged_at, Domain.dns_checked_at,
                      Domain.registry_checked_at)
    if only:
        names = {registrable_domain(n) for n in only}
        ids, _ = await _domain_ids(session, names, cfg, now)
        query = query.where(Domain.id.in_(list(ids.values())))
    else:
        query = query.where(in_scope)
    if critical_only:
        query = query.where(Domain.critical)
    rows = (await session.execute(query)).all()

    def due(last: datetime | None, days: int) -> bool:
        return last is None or last <= now - timedelta(days=days) + SLACK

    items: dict[int, int] = {}
    later: list[tuple[datetime | None, int]] = []
    for domain_id, critical, flagged_at, dns_checked_at, _ in rows:
        if only or (flagged_at is not None and due(dns_checked_at, 1)):
            items[domain_id] = 0
        elif critical and due(dns_checked_at, cfg.critical_every_days):
            items[domain_id] = 1
        elif not critical and due(dns_checked_at, cfg.everyone_every_days):
            items[domain_id] = 2
        elif not critical:
            later.append((dns_checked_at, domain_id))
    # Spread everyone else's checks: each sweep also takes a share of the stalest.
    share = math.ceil(len(rows) / cfg.everyone_every_days)
    extra = max(0, share - sum(1 for p in items.values() if p == 2))
    later.sort(key=lambda pair: (pair[0] is not None, pair[0] or now))
    for _, domain_id in later[:extra]:
        items[domain_id] = 2
    # The registry share: the domains whose registry data is oldest, queued or not. Taken
    # among the queued ones only, it waited for the DNS rotation (shorter than the
    # registry period: ordinary domains came round after 27 of 30 days, not yet due, and
    # were read every 54 days, with whole days of no registry look). One not queued is
    # queued for it (the registry is reached through the DNS tier); on a tie, the queued
    # ones first, as they cost no extra DNS question.
    registry_share = math.ceil(len(rows) / cfg.registry_every_days)
    registry_due = sorted(
        ((checked, domain_id) for domain_id, _, _, _, checked in rows
         if due(checked, cfg.registry_every_days)),
        key=lambda pair: (pair[0] is not None, pair[0] or now, pair[1] not in items))
    stale = {domain_id for _, domain_id in registry_due[:registry_share]}
    for domain_id in stale:
        items.setdefault(domain_id, 2)
    reason = {d: "stale" for d in stale}
    if only:  # named on the command line: checked in full, registry included
        reason = dict.fromkeys(items, "requested")

    sweep = DomainSweep(status="running", running_key="running", started_at=now,
                        planned=len(items),
                        params={"only": only or [], "critical_only": critical_only},
                        stats={"in_scope": len(rows), "registry_share": len(reason)})
    session.add(sweep)
    await session.flush()
    queue = [{"sweep_id": sweep.id, "domain_id": d, "priority": p, "stage": "dns",
              "reason": reason.get(d), "attempts": 0}
             for d, p in items.items()]
    for start in range(0, len(queue), BATCH * 4):
        await session.execute(sa.insert(DomainSweepItem), queue[start:start + BATCH * 4])
    return sweep
