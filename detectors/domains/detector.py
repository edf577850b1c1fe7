"""The domain detector: the scheduled sweep, and its findings handed to the pipeline.

`Pipeline.sweep()` runs `sweep(ctx)` inside one transaction. A sweep of a hundred
thousand domains must not hold that transaction (and its locks) for minutes, so the
work runs in its own short transactions on the same engine (see `sweep.py`); each
chunk writes its findings as pending findings together with the observations that
caused them. `sweep()` then takes the pending findings in the pipeline's transaction
and returns them, so marking them delivered and recording their incidents commit
together: a crash anywhere loses or duplicates nothing.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.events import IndexEvent
from bot.metrics import DOMAIN_QUERIES
from bot.store.domain_models import DomainPendingFinding
from bot.types import Finding
from detectors.base import Context
from detectors.domains.findings import DETECTOR, finding_from_json
from detectors.domains.queue import running_sweep
from detectors.domains.settings import DomainsSection
from detectors.domains.sources import Registries, make_probe
from detectors.domains.sweep import DomainSweeper, Progress, SweepReport


async def take_pending(session: AsyncSession, now: datetime, limit: int = 10_000) -> list[Finding]:
    """Pending findings, marked delivered in `session`'s transaction (claimed exclusively)."""
    result = await session.execute(
        sa.select(DomainPendingFinding)
        .where(DomainPendingFinding.delivered_at.is_(None))
        .order_by(DomainPendingFinding.id).limit(limit)
        .with_for_update(skip_locked=True))
    rows = list(result.scalars())
    for row in rows:
        row.delivered_at = now
    await session.flush()
    return [finding_from_json(row.finding) for row in rows]


class DomainDetector:
    """Maintainer email domains: expiring, lapsed and resurrected ones."""

    name = DETECTOR

    def __init__(
        self, cfg: DomainsSection, *, sessions: async_sessionmaker[AsyncSession] | None = None,
        progress: Progress | None = None, only: list[str] | None = None,
        critical_only: bool = False, force: bool = False,
    ) -> None:
        self.cfg = cfg
        self.sessions = sessions
        self.progress = progress
        self.only, self.critical_only, self.force = only, critical_only, force
        self.last_report: SweepReport | None = None

    async def on_event(self, event: IndexEvent, ctx: Context) -> list[Finding]:
        return []

    def _sessions(self, ctx: Context) -> async_sessionmaker[AsyncSession]:
        if self.sessions is not None:
            return self.sessions
        engine = ctx.session.bind
        if not isinstance(engine, AsyncEngine):
            raise TypeError("the domain detector needs a session bound to an AsyncEngine")
        return async_sessionmaker(engine, expire_on_commit=False)

    async def run_sweep(
        self, sessions: async_sessionmaker[AsyncSession], now: datetime
    ) -> SweepReport:
        probe = make_probe(self.cfg)
        registries = Registries.from_settings(self.cfg)
        try:
            sweeper = DomainSweeper(sessions, self.cfg, probe, registries, progress=self.progress)
            return await sweeper.run(now, only=self.only, critical_only=self.critical_only,
                                     force=self.force)
        finally:
            await probe.close()
            await registries.close()

    async def sweep(self, ctx: Context) -> list[Finding]:
        if self.cfg.enabled:
            self.last_report = await self.run_sweep(self._sessions(ctx), ctx.now)
            count_queries(self.last_report)
        return await take_pending(ctx.session, ctx.now)

    async def share(self, sessions: async_sessionmaker[AsyncSession], now: datetime) -> bool:
        """Claim chunks of a sweep in progress (planning stays with the leader's sweep);
        chunks are taken FOR UPDATE SKIP LOCKED, so no domain is checked twice."""
        if not self.cfg.enabled:
            return False
        async with sessions() as session:
            if await running_sweep(session) is None:
                return False
        count_queries(await self.run_sweep(sessions, now))
        return True

    async def pending(self, session: AsyncSession, now: datetime) -> list[Finding]:
        return await take_pending(session, now)


def count_queries(report: SweepReport) -> None:
    DOMAIN_QUERIES.labels("dns", "answered").inc(report.dns_checked)
    DOMAIN_QUERIES.labels("dns", "failed").inc(report.dns_failed)
    DOMAIN_QUERIES.labels("registry", "answered").inc(report.registry_checked)
    DOMAIN_QUERIES.labels("registry", "failed").inc(report.registry_failed)
