"""Maintainers' addresses copied from the index's own database into the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from bot.feed.accounts import sync_accounts
from bot.store.db import create_engine, session_factory
from bot.store.models import Account, Email
from tests.support.indexdouble import IndexDouble

VERIFIED = datetime(2019, 4, 2, 12, 0, tzinfo=UTC)


async def test_sync_copies_addresses_with_verification_dates(
    index_double: IndexDouble, store_url: str
) -> None:
    s = index_double.store
    s.add_user("figlief", "figlief@figlief-mail.com", at=VERIFIED)
    s.add_email("figlief", "old@example.org", verified=False)
    s.add_user("stranger", "x@stranger.org")  # no role on anything the bot tracks
    warehouse = f"sqlite+aiosqlite:///{s.db_path}"
    engine = create_engine(store_url)
    sessions = session_factory(engine)
    try:
        async with sessions.begin() as session:
            session.add(Account(username="figlief"))
        assert await sync_accounts(sessions, warehouse) == 2
        async with sessions() as session:
            rows = {e.email: e for e in (await session.execute(sa.select(Email))).scalars()}
        assert set(rows) == {"figlief@figlief-mail.com", "old@example.org"}
        primary = rows["figlief@figlief-mail.com"]
        assert primary.verified and primary.primary and primary.verified_at == VERIFIED
        assert not rows["old@example.org"].verified and rows["old@example.org"].verified_at is None

        later = datetime(2021, 1, 1, tzinfo=UTC)
        s.verify_email("old@example.org", at=later)
        await sync_accounts(sessions, warehouse)
        async with sessions() as session:
            old = (await session.execute(
                sa.select(Email).where(Email.email == "old@example.org"))).scalar_one()
        assert old.verified and old.verified_at == later
    finally:
        await engine.dispose()
