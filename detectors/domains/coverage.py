"""How much of the maintainers' domains the sweep covers (`warden domain coverage`).

In scope: every domain of a verified address of a known account (read from the index's
database, or from package metadata where there is no access to it). Checked within the
period: its last authoritative DNS answer is newer than `everyone_every_days` (critical
ones: `critical_every_days`). The oldest check is the one an admin should worry about.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.metrics import DOMAIN_COVERAGE, DOMAIN_OLDEST_CHECK
from bot.store.domain_models import Domain, DomainEmailLink
from bot.store.models import Email
from detectors.domains.settings import DomainsSection


@dataclass(frozen=True, slots=True)
class Coverage:
    accounts: int
    domains: int
    critical_domains: int
    checked_within_period: int
    critical_checked_within_period: int
    never_checked: int
    oldest_check: datetime | None
    period_days: int
    critical_period_days: int
    metadata_only_domains: int  # known only from package metadata: a weaker signal

    @property
    def share(self) -> float:
        return self.checked_within_period / self.domains if self.domains else 1.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["oldest_check"] = self.oldest_check.isoformat() if self.oldest_check else None
        data["share_checked"] = round(self.share, 4)
        return data


async def coverage(session: AsyncSession, cfg: DomainsSection, now: datetime) -> Coverage:
    linked = (sa.select(DomainEmailLink.domain_id, Email.account_id, Email.source)
              .join(Email, Email.id == DomainEmailLink.email_id).where(Email.verified)
              .subquery())
    accounts = (await session.execute(
        sa.select(sa.func.count(sa.distinct(linked.c.account_id))))).scalar_one()
    in_scope = sa.select(linked.c.domain_id)
    period = now - timedelta(days=cfg.everyone_every_days)
    critical_period = now - timedelta(days=cfg.critical_every_days)
    row = (await session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(Domain.critical),
            sa.func.count().filter(Domain.dns_checked_at >= period),
            sa.func.count().filter(Domain.critical, Domain.dns_checked_at >= critical_period),
            sa.func.count().filter(Domain.dns_checked_at.is_(None)),
            sa.func.min(Domain.dns_checked_at),
        ).where(Domain.id.in_(in_scope)))).one()
    strong = sa.select(linked.c.domain_id).where(linked.c.source != "metadata")
    weak_only = (await session.execute(
        sa.select(sa.func.count(sa.distinct(linked.c.domain_id)))
        .where(linked.c.source == "metadata", linked.c.domain_id.not_in(strong)))).scalar_one()
    return Coverage(
        accounts=int(accounts), domains=int(row[0]), critical_domains=int(row[1]),
        checked_within_period=int(row[2]), critical_checked_within_period=int(row[3]),
        never_checked=int(row[4]), oldest_check=row[5], period_days=cfg.everyone_every_days,
        critical_period_days=cfg.critical_every_days, metadata_only_domains=int(weak_only))


def publish(found: Coverage, now: datetime) -> None:
    """Set the prometheus gauges (served on /metrics)."""
    for what in ("accounts", "domains", "critical_domains", "checked_within_period",
                 "critical_checked_within_period", "never_checked", "metadata_only_domains"):
        DOMAIN_COVERAGE.labels(what).set(getattr(found, what))
    oldest = found.oldest_check
    DOMAIN_OLDEST_CHECK.set((now - oldest).total_seconds() if oldest else 0.0)
