"""Issue 18: the accounts read against Warehouse's real schema (PostgreSQL), rows written
as Warehouse writes them (tests/support/warehouse_db.Seeder)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.feed.index_accounts import read_index_accounts
from bot.store.domain_models import AccountProject
from bot.store.models import Account, Email
from tests.support.warehouse_db import Seeder, dsn

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


async def test_read_from_warehouse_schema_full_then_incremental(
    warehouse_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path,
) -> None:
    conn = await asyncpg.connect(dsn(warehouse_url))
    try:
        seed = Seeder(conn, tmp_path)
        alice = await seed.user("alice", ("alice@tiny-home.org", True), ("old@gone.org", False))
        await seed.event("user_events", alice, "account:email:verified",
                         {"email": "alice@tiny-home.org", "primary": True})
        verified_at = seed.clock.replace(tzinfo=UTC)
        await seed.project("tinylib", "alice")
        await seed.user("carol", ("carol@carol-mail.org", True))  # no role: not swept

        first = await read_index_accounts(sessions, warehouse_url, NOW)
        assert first.full and (first.changed, first.written) == (1, 1)

        erin = await seed.user("erin", ("erin@erin-mail.net", True))
        await seed.event("user_events", erin, "account:email:verified",
                         {"email": "erin@erin-mail.net", "primary": True})
        await seed.project("newlib", "erin")
        await conn.execute("DELETE FROM roles WHERE user_id = $1", alice)
        await seed.journal("tinylib", None, "remove Owner alice", "erin")
        step = await read_index_accounts(sessions, warehouse_url, NOW + timedelta(hours=1))
        assert not step.full and (step.changed, step.written, step.dropped) == (1, 1, 1)

        # fay removes her only address (accounts/views.py: the row goes, an event says so):
        # she holds a role still, but has no verified address: out of the sweep
        fay = await seed.user("fay", ("fay@fay-mail.org", True))
        await seed.project("faylib", "fay")
        await read_index_accounts(sessions, warehouse_url, NOW + timedelta(hours=2))
        await conn.execute("DELETE FROM user_emails WHERE user_id = $1", fay)
        await seed.event("user_events", fay, "account:email:remove", {"email": "fay@fay-mail.org"})
        removed = await read_index_accounts(sessions, warehouse_url, NOW + timedelta(hours=3))
        assert (removed.changed, removed.written, removed.dropped) == (0, 0, 1)
    finally:
        await conn.close()
    async with sessions() as session:
        roles = set((await session.execute(
            sa.select(Account.username, AccountProject.project)
            .join(AccountProject, AccountProject.account_id == Account.id))).all())
        emails = {e.email: e for e in (await session.execute(sa.select(Email))).scalars()}
    assert roles == {("erin", "newlib")}  # fay's role left with her last address
    assert emails["erin@erin-mail.net"].verified
    assert not emails["alice@tiny-home.org"].verified  # alice holds no role any more
    assert emails["alice@tiny-home.org"].verified_at == verified_at
    assert "carol@carol-mail.org" not in emails
    assert not emails["fay@fay-mail.org"].verified
