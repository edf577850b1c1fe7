"""Every maintainer's addresses and roles, read from the index's database (issue 18).

The domain sweep covers every account that holds a role on any project with a verified
address, not only the maintainers of tracked projects. PyPI publishes neither, so they
are read from Warehouse's `users`, `user_emails`, `roles` and `projects` (a read-only
replica), incrementally:

- the first read (and one every `FULL_EVERY`, a safety net) takes everyone;
- later reads take only the accounts changed since: those named in `user_events`
  `account:email:*` rows after the last event seen (an address added, verified,
  removed, made primary) and in role entries of `journals` after the last id seen
  ("add Owner alice", "remove Maintainer bob", "change Owner carol to Maintainer",
  "accepted ..."; parsed by the changelog parser), plus the holders of projects the
  journal says were removed.

Addresses go to the ledger's `emails` (source "index-db", with the verification date
from the `account:email:verified` event), roles to `account_projects` (by project
name: reading them does not make a project tracked).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bot.events import EventKind, parse_action
from bot.names import canonicalize
from bot.store import warehouse as ws
from bot.store.db import create_engine
from bot.store.domain_models import AccountProject, IndexAccountRead
from bot.store.models import Account, Email

FULL_EVERY = timedelta(days=7)
CHUNK = 500  # user ids per statement
EMAIL_TAGS = "account:email:%"
VERIFIED_TAG = "account:email:verified"
ROLE_KINDS = frozenset({EventKind.ROLE_ADD, EventKind.ROLE_REMOVE, EventKind.ROLE_CHANGE,
                        EventKind.ROLE_ACCEPT})
REMOVED_PROJECT = "remove project"


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _naive(value: datetime) -> datetime:
    """Warehouse stores UTC in `timestamp without time zone` columns."""
    return value.astimezone(UTC).replace(tzinfo=None)


@dataclass(slots=True)
class IndexAccount:
    username: str
    emails: list[tuple[str, bool, bool, datetime | None]] = field(default_factory=list)
    projects: dict[str, str] = field(default_factory=dict)  # normalized name -> role


@dataclass(slots=True)
class ReadReport:
    full: bool = False
    changed: int = 0  # accounts read (changed, or all on a full read)
    written: int = 0  # of those, accounts with a role and a verified address
    dropped: int = 0  # accounts no longer in scope (no role, or no verified address)
    last_journal_id: int = 0
    last_event_at: datetime | None = None


async def _role_holders(
    conn: AsyncConnection, user_ids: list[uuid.UUID] | None
) -> dict[uuid.UUID, IndexAccount]:
    """Accounts with a verified address and a role, with their roles (None: everyone)."""
    u, r, p, e = ws.users, ws.roles, ws.projects, ws.user_emails
    verified = sa.exists().where(e.c.user_id == u.c.id, e.c.verified)
    base = (sa.select(u.c.id, u.c.username, p.c.normalized_name, r.c.role_name)
            .join(r, r.c.user_id == u.c.id).join(p, p.c.id == r.c.project_id)
            .where(verified))
    found: dict[uuid.UUID, IndexAccount] = {}
    chunks = [None] if user_ids is None else [
        user_ids[i:i + CHUNK] for i in range(0, len(user_ids), CHUNK)]
    for chunk in chunks:
        query = base if chunk is None else base.where(u.c.id.in_(chunk))
        for uid, username, project, role in (await conn.execute(query)).all():
            account = found.setdefault(uid, IndexAccount(str(username)))
            account.projects[canonicalize(project)] = role
    return found


async def _emails(conn: AsyncConnection, accounts: dict[uuid.UUID, IndexAccount]) -> None:
    """Each account's addresses, with when each was (last) verified."""
    e, ev = ws.user_emails, ws.user_events
    ids = list(accounts)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        rows = (await conn.execute(
            sa.select(e.c.user_id, e.c.email, e.c.primary, e.c.verified)
            .where(e.c.user_id.in_(chunk)))).all()
        events = (await conn.execute(
            sa.select(ev.c.source_id, ev.c.time, ev.c.additional)
            .where(ev.c.source_id.in_(chunk), ev.c.tag == VERIFIED_TAG))).all()
        when: dict[tuple[object, str], datetime] = {}
        for event in events:
            address = str((event.additional or {}).get("email", "")).lower()
            at = _utc(event.time)
            if at is not None and ((event.source_id, address) not in when
                                   or at > when[(event.source_id, address)]):
                when[(event.source_id, address)] = at  # the latest verification counts
        for row in rows:
            accounts[row.user_id].emails.append(
                (row.email, row.primary, row.verified,
                 when.get((row.user_id, row.email.lower())) if row.verified else None))


async def _changed_since(
    conn: AsyncConnection, cursor: IndexAccountRead, report: ReadReport,
) -> tuple[list[uuid.UUID], set[str], set[str]]:
    """User ids with address changes, usernames with role changes, removed projects."""
    ev, j, u = ws.user_events, ws.journals, ws.users
    since = cursor.last_event_at
    query = sa.select(ev.c.source_id, ev.c.time).where(ev.c.tag.like(EMAIL_TAGS))
    if since is not None:
        query = query.where(ev.c.time > _naive(since))
    ids: set[uuid.UUID] = set()
    for source_id, at in (await conn.execute(query)).all():
        ids.add(source_id)
        at = _utc(at)
        if at is not None and (report.last_event_at is None or at > report.last_event_at):
            report.last_event_at = at
    names: set[str] = set()
    removed: set[str] = set()
    roles_like = sa.or_(*(j.c.action.like(f"{verb} %")
                          for verb in ("add", "remove", "change", "accepted")))
    rows = (await conn.execute(
        sa.select(j.c.id, j.c.name, j.c.version, j.c.action, j.c.submitted_date)
        .where(j.c.id > cursor.last_journal_id, roles_like).order_by(j.c.id))).all()
    for row in rows:
        report.last_journal_id = max(report.last_journal_id, row.id)
        event = parse_action(row.id, _utc(row.submitted_date) or datetime.now(UTC),
                             row.name or "", row.version, row.action or "")
        if event.kind in ROLE_KINDS and event.user:
            names.add(event.user)
        elif row.action == REMOVED_PROJECT and row.name:
            removed.add(canonicalize(row.name))
    if names:
        for start in range(0, len(sorted(names)), CHUNK):
            chunk = sorted(names)[start:start + CHUNK]
            ids.update((await conn.execute(
                sa.select(u.c.id).where(u.c.username.in_(chunk)))).scalars())
    # Everyone touched is written again, also those who are no longer in scope (their
    # last verified address removed or unverified): they must leave the sweep.
    every = sorted(ids, key=str)
    for start in range(0, len(every), CHUNK):
        names.update(str(n) for n in (await conn.execute(
            sa.select(u.c.username).where(u.c.id.in_(every[start:start + CHUNK])))).scalars())
    return list(ids), names, removed


async def _head(conn: AsyncConnection, report: ReadReport) -> None:
    """Where the index's journal and events stand now (the cursor after a full read)."""
    j, ev = ws.journals, ws.user_events
    report.last_journal_id = int((await conn.execute(
        sa.select(sa.func.coalesce(sa.func.max(j.c.id), 0)))).scalar_one())
    report.last_event_at = _utc((await conn.execute(
        sa.select(sa.func.max(ev.c.time)).where(ev.c.tag.like(EMAIL_TAGS)))).scalar_one())


async def read_index_accounts(
    sessions: async_sessionmaker[AsyncSession], warehouse_url: str, now: datetime,
    *, full: bool = False,
) -> ReadReport:
    """Bring the ledger's accounts, addresses and roles up to date with the index."""
    async with sessions() as session:
        cursor = (await session.execute(sa.select(IndexAccountRead))).scalar_one_or_none()
    report = ReadReport()
    report.full = (full or cursor is None or cursor.last_full_at is None
                   or now - cursor.last_full_at >= FULL_EVERY)
    engine = create_engine(warehouse_url)
    try:
        async with engine.connect() as conn:
            if report.full:
                await _head(conn, report)  # before reading: a change made meanwhile is re-read
                accounts = await _role_holders(conn, None)
                usernames: set[str] = set()
                removed: set[str] = set()
            else:
                assert cursor is not None
                report.last_journal_id = cursor.last_journal_id
                report.last_event_at = cursor.last_event_at
                ids, usernames, removed = await _changed_since(conn, cursor, report)
                accounts = await _role_holders(conn, ids)
                usernames |= {a.username for a in accounts.values()}
            await _emails(conn, accounts)
    finally:
        await engine.dispose()
    report.changed = len(accounts)
    async with sessions.begin() as session:
        if removed:  # the holders of a removed project lost that role: read them again next
            usernames |= set((await session.execute(
                sa.select(Account.username).join(
                    AccountProject, AccountProject.account_id == Account.id)
                .where(AccountProject.project.in_(sorted(removed))))).scalars())
            await session.execute(sa.delete(AccountProject).where(
                AccountProject.project.in_(sorted(removed))))
        await _write(session, list(accounts.values()), usernames, report)
        if cursor is None:
            cursor = IndexAccountRead(id=1)
            session.add(cursor)
        else:
            cursor = await session.merge(cursor)
        cursor.last_journal_id = report.last_journal_id
        cursor.last_event_at = report.last_event_at
        cursor.read_at = now
        cursor.accounts = report.written
        if report.full:
            cursor.last_full_at = now
    return report


async def _write(
    session: AsyncSession, accounts: list[IndexAccount], touched: Iterable[str],
    report: ReadReport,
) -> None:
    """Write what was read; accounts read before and not found now leave the scope."""
    by_name = {a.username: a for a in accounts}
    if report.full:  # everyone who held a role before and is not in the read any more
        touched = set(touched) | set((await session.execute(
            sa.select(Account.username).join(
                AccountProject, AccountProject.account_id == Account.id))).scalars())
    names = sorted(set(by_name) | set(touched))
    known: dict[str, Account] = {}
    for start in range(0, len(names), CHUNK):
        known.update({a.username: a for a in (await session.execute(
            sa.select(Account).where(Account.username.in_(names[start:start + CHUNK]))
        )).scalars()})
    for name in names:
        if name not in known and name in by_name:
            known[name] = Account(username=name, first_seen_at=datetime.now(UTC))
            session.add(known[name])
    await session.flush()
    ids = [known[n].id for n in names if n in known]
    emails: dict[int, dict[str, Email]] = {}
    for start in range(0, len(ids), CHUNK):
        for row in (await session.execute(
                sa.select(Email).where(Email.account_id.in_(ids[start:start + CHUNK])))).scalars():
            emails.setdefault(row.account_id, {})[row.email.lower()] = row
        await session.execute(sa.delete(AccountProject).where(
            AccountProject.account_id.in_(ids[start:start + CHUNK])))
    roles = []
    for name in names:
        account = known.get(name)
        if account is None:
            continue
        mine = emails.get(account.id, {})
        read = by_name.get(name)
        if read is None:  # no role or no verified address at the index any more
            report.dropped += 1
            for stale in mine.values():
                if stale.source == "index-db":
                    stale.verified = False
            continue
        report.written += 1
        for address, primary, verified, verified_at in read.emails:
            kept = mine.pop(address.lower(), None)
            if kept is None:
                kept = Email(account_id=account.id, email=address, source="index-db")
                session.add(kept)
            kept.primary, kept.verified, kept.verified_at = primary, verified, verified_at
            kept.source = "index-db"
        for gone in mine.values():  # removed from the account at the index
            if gone.source == "index-db":
                gone.verified = False
        roles += [{"account_id": account.id, "project": project[:512], "role": role[:64]}
                  for project, role in read.projects.items()]
    for start in range(0, len(roles), CHUNK * 2):
        await session.execute(sa.insert(AccountProject), roles[start:start + CHUNK * 2])
