"""Accounts' email addresses from the index's own database (a read-only replica).

PyPI does not publish who owns which address; Warehouse's `users`, `user_emails` and
the `account:email:verified` user events do. For the accounts the ledger knows (those
with roles on tracked projects), copy each address, whether it is verified, and when
it was verified — the date the domain sweep compares a domain's registration with.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store import warehouse as ws
from bot.store.db import create_engine
from bot.store.models import Account, Email

VERIFIED_TAG = "account:email:verified"


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


async def read_index_emails(
    warehouse_url: str, usernames: Iterable[str]
) -> dict[str, list[tuple[str, bool, bool, datetime | None]]]:
    """{username: [(email, primary, verified, verified_at)]} from the Warehouse database."""
    names = sorted(set(usernames))
    found: dict[str, list[tuple[str, bool, bool, datetime | None]]] = {}
    if not names:
        return found
    engine = create_engine(warehouse_url)
    u, e, ev = ws.users, ws.user_emails, ws.user_events
    try:
        async with engine.connect() as conn:
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                rows = (await conn.execute(
                    sa.select(u.c.id, u.c.username, e.c.email, e.c.primary, e.c.verified)
                    .join(e, e.c.user_id == u.c.id).where(u.c.username.in_(chunk))
                )).all()
                ids = list({row.id for row in rows})
                events = (await conn.execute(
                    sa.select(ev.c.source_id, ev.c.time, ev.c.additional)
                    .where(ev.c.source_id.in_(ids), ev.c.tag == VERIFIED_TAG)
                )).all() if ids else []
                when: dict[tuple[object, str], datetime] = {}
                for event in events:
                    email = (event.additional or {}).get("email", "")
                    key = (event.source_id, str(email).lower())
                    at = _utc(event.time)
                    if at is not None and (key not in when or at > when[key]):
                        when[key] = at  # the latest verification is the one that counts
                for row in rows:
                    found.setdefault(row.username, []).append(
                        (row.email, row.primary, row.verified,
                         when.get((row.id, row.email.lower())) if row.verified else None))
    finally:
        await engine.dispose()
    return found


async def sync_accounts(sessions: async_sessionmaker[AsyncSession], warehouse_url: str) -> int:
    """Refresh the ledger's emails of every known account; returns addresses written."""
    async with sessions() as session:
        usernames = list((await session.execute(sa.select(Account.username))).scalars())
    index = await read_index_emails(warehouse_url, usernames)
    written = 0
    async with sessions.begin() as session:
        accounts = {a.username: a for a in (await session.execute(sa.select(Account))).scalars()}
        for username, addresses in index.items():
            account = accounts.get(username)
            if account is None:
                continue
            written += await _apply(session, account, addresses)
    return written


async def _apply(session: AsyncSession, account: Account,
                 addresses: list[tuple[str, bool, bool, datetime | None]]) -> int:
    known = {m.email.lower(): m for m in (await session.execute(
        sa.select(Email).where(Email.account_id == account.id))).scalars()}
    for email, primary, verified, verified_at in addresses:
        row = known.pop(email.lower(), None)
        if row is None:
            row = Email(account_id=account.id, email=email, source="index-db")
            session.add(row)
        row.primary, row.verified, row.verified_at = primary, verified, verified_at
    for gone in known.values():  # no longer on the account at the index
        if gone.source == "index-db":
            gone.verified = False
    return len(addresses)
