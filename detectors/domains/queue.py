"""The sweep queue: claim a chunk with a lease, move it on, finish the sweep.

A claim is one short transaction that locks what it takes (see `claim`), so
replicas never take the same rows. Rows whose lease ran out (their worker
died) can be claimed again; rows moved to the next stage are never claimed twice by
the same stage, which is what makes an interrupted sweep resume without checking a
domain twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.domain_models import DomainSweep, DomainSweepItem

Q = DomainSweepItem


async def running_sweep(session: AsyncSession) -> DomainSweep | None:
    result = await session.execute(
        sa.select(DomainSweep).where(DomainSweep.status == "running")
        .order_by(DomainSweep.id).limit(1))
    return result.scalar_one_or_none()


async def last_start(session: AsyncSession) -> datetime | None:
    result = await session.execute(sa.select(sa.func.max(DomainSweep.started_at)))
    return result.scalar_one_or_none()


async def claim(
    session: AsyncSession, sweep_id: int, stage: str, worker: str, now: datetime,
    lease_seconds: float, limit: int, server: str | None = None,
) -> dict[int, tuple[str | None, int]]:
    """Take up to `limit` claimable rows of `stage` (optionally of one registry route):
    domain id -> (reason, how many times claimed so far, this one included).

    PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`, then an UPDATE of what it locked
    (as one `UPDATE ... WHERE IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` the
    subquery may run more than once and take more than n). SQLite has no row locks
    but a single writer: there the same thing is one UPDATE statement, which is atomic.
    """
    free = sa.or_(Q.lease_until.is_(None), Q.lease_until < now)
    pick = (
        sa.select(Q.domain_id, Q.reason, Q.attempts)
        .where(Q.sweep_id == sweep_id, Q.stage == stage, free)
        .order_by(Q.priority, Q.domain_id)
        .limit(limit)
    )
    if server is not None:
        pick = pick.where(Q.server == server)
    claimed = {"claimed_by": worker, "lease_until": now + timedelta(seconds=lease_seconds),
               "attempts": Q.attempts + 1}
    if session.get_bind().dialect.name == "sqlite":
        result = await session.execute(
            sa.update(Q).where(Q.sweep_id == sweep_id,
                               Q.domain_id.in_(pick.with_only_columns(Q.domain_id)))
            .values(**claimed).returning(Q.domain_id, Q.reason, Q.attempts)
            .execution_options(synchronize_session=False))
        return {d: (reason, attempts) for d, reason, attempts in result.all()}
    rows = (await session.execute(pick.with_for_update(skip_locked=True))).all()
    if rows:
        await session.execute(
            sa.update(Q).where(Q.sweep_id == sweep_id, Q.domain_id.in_([r[0] for r in rows]))
            .values(**claimed).execution_options(synchronize_session=False))
    return {d: (reason, attempts + 1) for d, reason, attempts in rows}


async def advance(
    session: AsyncSession, sweep_id: int, done: Sequence[int],
    to_registry: dict[int, tuple[str | None, str]], retry: Sequence[int] = (),
    retry_at: datetime | None = None,
) -> None:
    """Move claimed rows on: finished, to the registry stage (route, reason), or retried.

    A retried row is released with its lease end set to `retry_at`: nobody claims it
    before then.
    """
    if done:
        await session.execute(
            sa.update(Q).where(Q.sweep_id == sweep_id, Q.domain_id.in_(list(done)))
            .values(stage="done", claimed_by=None, lease_until=None)
            .execution_options(synchronize_session=False))
    if to_registry:
        table = cast(sa.Table, Q.__table__)
        await session.execute(
            sa.update(table)
            .where(table.c.sweep_id == sweep_id, table.c.domain_id == sa.bindparam("did"))
            .values(stage="registry", server=sa.bindparam("route"),
                    reason=sa.bindparam("why"), claimed_by=None, lease_until=None),
            [{"did": d, "route": route or "none", "why": why}
             for d, (route, why) in to_registry.items()])
    if retry:
        await session.execute(
            sa.update(Q).where(Q.sweep_id == sweep_id, Q.domain_id.in_(list(retry)))
            .values(claimed_by=None, lease_until=retry_at)
            .execution_options(synchronize_session=False))


async def next_lease_end(session: AsyncSession, sweep_id: int, stage: str) -> datetime | None:
    """When the first row of `stage` held by a lease (or waiting for a retry) comes free."""
    result = await session.execute(
        sa.select(sa.func.min(Q.lease_until))
        .where(Q.sweep_id == sweep_id, Q.stage == stage, Q.lease_until.is_not(None)))
    return result.scalar_one_or_none()


async def registry_routes(session: AsyncSession, sweep_id: int, now: datetime) -> list[str]:
    result = await session.execute(
        sa.select(Q.server).distinct()
        .where(Q.sweep_id == sweep_id, Q.stage == "registry",
               sa.or_(Q.lease_until.is_(None), Q.lease_until < now)))
    return [route for route in result.scalars() if route is not None]


async def remaining(session: AsyncSession, sweep_id: int) -> dict[str, int]:
    result = await session.execute(
        sa.select(Q.stage, sa.func.count()).where(Q.sweep_id == sweep_id).group_by(Q.stage))
    return {k: v for k, v in result.all()}


async def finish(session: AsyncSession, sweep: DomainSweep, now: datetime) -> bool:
    """Mark the sweep done if nothing is left in any stage; returns whether it is."""
    left = await remaining(session, sweep.id)
    if left.get("dns", 0) or left.get("registry", 0):
        return False
    await session.execute(
        sa.update(DomainSweep).where(DomainSweep.id == sweep.id, DomainSweep.status == "running")
        .values(status="done", running_key=None, finished_at=now)
        .execution_options(synchronize_session=False))
    return True
