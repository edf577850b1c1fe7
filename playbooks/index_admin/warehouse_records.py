"""What Warehouse records beside each change: who, the journal, events and observations.

Authorship (one rule for every write of the ``warehouse`` backend): a change is recorded
as made by the acting admin when Warehouse has an account of that name, else by the
configured service account (``playbooks.warehouse_account``, default ``admin``: the
account Warehouse's own tasks act as, ``IUserService.get_admin_user()``). That one
account is ``journals.submitted_by``, the ``submitted_by`` of every event, the name in a
lifecycle note ("Quarantined by admin."), ``prohibited_by`` of a prohibition and the
observer of an observation. When neither account exists nothing is written: the plan is
refused (:meth:`WarehouseAdmin.author_problem`) and a step fails.

Journals are written as Warehouse writes them (``packaging/models.py``
``ensure_monotonic_journals``): on PostgreSQL under the transaction-scoped advisory lock
``('journals'::regclass::int, 42)``, so serials appear in commit order and the feed's
cursor never skips a journal committed late.

Events have no ``ip_address_id``: Warehouse takes it from the HTTP request; the bot's
audit log records where an action came from instead.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import warehouse as ws

__all__ = [
    "JOURNAL_LOCK",
    "Author",
    "add_verdict",
    "event",
    "find_author",
    "journal",
    "naive_now",
    "observe",
    "user_repr",
]

JOURNAL_LOCK = 42  # warehouse.packaging.models._MONOTONIC_SEQUENCE
_LOCK_SQL = sa.text("SELECT pg_advisory_xact_lock(CAST(CAST('journals' AS regclass) AS integer), "
                    ":key)")


@dataclass(frozen=True, slots=True)
class Author:
    """The Warehouse account a change is recorded as made by."""

    id: uuid.UUID
    username: str


def naive_now() -> datetime:
    # Warehouse stores naive UTC (timestamp without time zone).
    return datetime.now(UTC).replace(tzinfo=None)


def user_repr(username: str) -> str:
    """``repr(User)`` (``make_repr("username")``): an observation's ``related_name``."""
    return f"User(username={username!r})"


async def find_author(c: AsyncConnection, actor: str, service_account: str) -> Author | None:
    u = ws.users
    for name in (actor, service_account):
        row = (await c.execute(sa.select(u.c.id, u.c.username)
                               .where(u.c.username == name))).first()
        if row is not None:
            return Author(row.id, str(row.username))
    return None


async def journal(c: AsyncConnection, name: str, version: str | None, action: str,
                  author: Author) -> int:
    """One ``journals`` row; ``projects.last_serial`` follows by Warehouse's trigger."""
    if c.dialect.name == "postgresql":
        await c.execute(_LOCK_SQL, {"key": JOURNAL_LOCK})
    result = await c.execute(sa.insert(ws.journals).values(
        name=name, version=version, action=action, submitted_date=naive_now(),
        submitted_by=author.username))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


async def event(c: AsyncConnection, table: sa.Table, source_id: uuid.UUID, tag: str,
                additional: Mapping[str, Any]) -> None:
    """``HasEvents.record_event`` on ``project_events``, ``user_events`` or ``file_events``."""
    await c.execute(sa.insert(table).values(source_id=source_id, tag=tag,
                                            additional=dict(additional)))


async def _observer(c: AsyncConnection, author: Author) -> uuid.UUID:
    """The author's observer, created on first use as Warehouse does (``actor.observer =
    Observer()``: an ``observer_association`` row with discriminator "user")."""
    u, o = ws.users, ws.observers
    association = (await c.execute(sa.select(u.c.observer_association_id)
                                   .where(u.c.id == author.id))).scalar()
    if association is not None:
        found = (await c.execute(sa.select(o.c.id)
                                 .where(o.c._association_id == association))).scalar()
        if found is not None:
            return uuid.UUID(str(found))
    else:
        association = uuid.uuid4()
        await c.execute(sa.insert(ws.observer_association).values(
            id=association, discriminator="user"))
        await c.execute(sa.update(u).where(u.c.id == author.id)
                        .values(observer_association_id=association))
    observer = uuid.uuid4()
    await c.execute(sa.insert(o).values(id=observer, _association_id=association))
    return observer


async def observe(c: AsyncConnection, table: sa.Table, related_id: uuid.UUID,
                  related_name: str, kind: str, summary: str, payload: Mapping[str, Any],
                  author: Author) -> None:
    """``HasObservations.record_observation`` (``observations/models.py``)."""
    await c.execute(sa.insert(table).values(
        related_id=related_id, related_name=related_name, observer_id=await _observer(c, author),
        kind=kind, summary=summary, payload=dict(payload)))


async def add_verdict(c: AsyncConnection, table: sa.Table, ids: Sequence[uuid.UUID],
                      entry: Mapping[str, Any]) -> int:
    """Add an admin's verdict to each observation's ``actions``, keyed by UNIX time, as
    ``admin/views/malware_reports.py`` does: ``actions[int(now.timestamp())] = {...,
    "created_at": str(now)}``. Returns how many rows got it.

    An entry already keyed by this second (a verdict, then its undo, by a machine) would
    be overwritten: the entry waits for the next second instead."""
    now = datetime.now(tz=UTC)
    rows = (await c.execute(sa.select(table.c.id, table.c.actions)
                            .where(table.c.id.in_(list(ids))))).all()
    while any(str(int(now.timestamp())) in (row.actions or {}) for row in rows):
        await asyncio.sleep(1 - now.timestamp() % 1)
        now = datetime.now(tz=UTC)
    for row in rows:
        actions = dict(row.actions or {})
        actions[str(int(now.timestamp()))] = {**entry, "created_at": str(now)}
        await c.execute(sa.update(table).where(table.c.id == row.id).values(actions=actions))
    return len(rows)
