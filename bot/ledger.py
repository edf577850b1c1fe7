"""The ledger: what the bot knows about tracked projects, releases, files and accounts.

Kept from the feed as it happens and from the JSON API, so it outlives a deletion on
the index: a removal only marks rows `removed_at`, it never deletes them, and a
restore can be planned from what is recorded here. Each change the feed applies is also
kept in order (bot.ledger_history), so a restore can bring back one point in time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.events import EventKind, IndexEvent, RejectedEntry, verbatim
from bot.facts import ProjectFacts
from bot.ledger_history import record
from bot.names import canonicalize
from bot.store.contacts import keep_contacts
from bot.store.models import Account, File, Project, Release, Role

# Events after which the JSON API is read again for a tracked project.
REFRESH_KINDS = frozenset(
    {EventKind.CREATE, EventKind.NEW_RELEASE, EventKind.ADD_FILE, EventKind.YANK, EventKind.UNYANK}
)
_ROLE_GAINED = frozenset({EventKind.ROLE_ADD, EventKind.ROLE_ACCEPT})


@dataclass(frozen=True, slots=True)
class Loss:
    """What a removal takes away, as the ledger recorded it."""

    releases: tuple[str, ...]
    files: tuple[File, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def last_upload(self) -> datetime | None:
        times = [f.upload_time for f in self.files if f.upload_time is not None]
        return max(times) if times else None


class TrackedProjects:
    """The names of the projects the ledger keeps, cached across batches."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names = {canonicalize(n) for n in names}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and canonicalize(name) in self._names

    def __len__(self) -> int:
        return len(self._names)

    def add(self, name: str) -> None:
        self._names.add(canonicalize(name))

    @classmethod
    async def load(cls, session: AsyncSession) -> TrackedProjects:
        return cls((await session.execute(select(Project.normalized_name))).scalars())


class Ledger:
    """Ledger reads and writes inside one session (one transaction)."""

    def __init__(self, session: AsyncSession, tracked: TrackedProjects) -> None:
        self.session = session
        self.tracked = tracked

    async def project(self, name: str, *, with_files: bool = False) -> Project | None:
        query = select(Project).where(Project.normalized_name == canonicalize(name))
        if with_files:
            query = query.options(selectinload(Project.releases).selectinload(Release.files))
        return (await self.session.execute(query)).scalar_one_or_none()

    async def track(
        self, name: str, now: datetime, *, critical_reason: str | None = None
    ) -> Project:
        project = await self.project(name)
        if project is None:
            project = Project(name=name, normalized_name=canonicalize(name), releases=[])
            self.session.add(project)
        if critical_reason and not project.critical:
            project.critical, project.critical_reason, project.critical_since = (
                True, critical_reason, now,
            )
        self.tracked.add(name)
        await self.session.flush()
        return project

    def needs_refresh(self, event: IndexEvent) -> bool:
        return event.kind in REFRESH_KINDS and event.project in self.tracked

    async def loss(self, event: IndexEvent) -> Loss:
        """What `event` (a remove_* event) would take away, from the ledger's records."""
        project = await self.project(event.project, with_files=True)
        if project is None:
            return Loss((), ())
        releases = [r for r in project.releases if r.removed_at is None]
        if event.kind is EventKind.REMOVE_PROJECT:
            chosen = releases
        else:
            chosen = [r for r in releases if r.version == event.version]
        files = [f for r in chosen for f in r.files if f.removed_at is None]
        if event.kind is EventKind.REMOVE_FILE:
            files = [f for f in files if f.filename == event.filename]
            chosen = [r for r in chosen if any(f.release_id == r.id for f in files)]
        return Loss(tuple(r.version for r in chosen), tuple(files))

    async def _file_owners(self, filenames: list[str]) -> dict[str, tuple[int, str]]:
        """{filename: (project id, version)} for the recorded files among `filenames`."""
        owners: dict[str, tuple[int, str]] = {}
        for start in range(0, len(filenames), 500):
            rows = await self.session.execute(
                select(File.filename, Release.project_id, Release.version)
                .join(Release, File.release_id == Release.id)
                .where(File.filename.in_(filenames[start : start + 500])))
            owners.update({r.filename: (r.project_id, r.version) for r in rows})
        return owners

    async def apply_facts(self, facts: ProjectFacts, now: datetime) -> list[RejectedEntry]:
        """Upsert the releases and files the JSON API says exist now (never removes).

        A filename is never reused on PyPI: a file the ledger already holds under another
        project or release is not moved, it is returned as a rejection to record.
        """
        project = await self.project(facts.name, with_files=True)
        if project is None:
            return []
        owners = await self._file_owners(
            [f.filename for files in facts.releases.values() for f in files])
        problems: list[RejectedEntry] = []
        project.name = facts.name
        project.synced_at, project.synced_serial = now, facts.last_serial
        await keep_contacts(self.session, project.normalized_name, facts, now)
        by_version = {r.version: r for r in project.releases}
        for version, files in facts.releases.items():
            release = by_version.get(version)
            if release is None:
                release = Release(version=version, files=[])
                project.releases.append(release)
                by_version[version] = release
            release.removed_at = None
            if files:
                release.yanked = files[0].yanked
                release.yanked_reason = files[0].yanked_reason
                times = [f.upload_time for f in files if f.upload_time]
                release.created_at = release.created_at or (min(times) if times else None)
            known = {f.filename: f for f in release.files}
            for fact in files:
                owner = owners.get(fact.filename)
                if owner is not None and owner != (project.id, version):
                    problems.append(RejectedEntry(
                        None, verbatim([fact.filename, version, fact.sha256]),
                        f"file {fact.filename!r} is listed under {facts.name} {version}, but "
                        f"the ledger holds it under another release (project #{owner[0]}, "
                        f"{owner[1]})", source=f"json:{facts.name}"))
                    continue
                row = known.get(fact.filename)
                if row is None:
                    row = File(filename=fact.filename)
                    release.files.append(row)
                row.packagetype, row.python_version = fact.packagetype, fact.python_version
                row.requires_python, row.size, row.md5 = fact.requires_python, fact.size, fact.md5
                row.sha256, row.blake2b_256 = fact.sha256, fact.blake2b_256
                row.upload_time, row.path = fact.upload_time, fact.path
                row.yanked, row.removed_at = fact.yanked, None
        await self.session.flush()
        return problems

    async def apply_roles(self, facts: ProjectFacts, now: datetime) -> None:
        """Add roles the JSON API shows and the feed has not told us about (backfill).

        Called after a batch's events: the JSON API shows the present, so applying its
        roles first would make a role the feed is about to add look old.
        """
        project = await self.project(facts.name)
        if project is None:
            return
        known = {a.username for _, a in await self.roles(facts.name)}
        for role, user in facts.roles:
            if user not in known:
                await self._grant(project, user, role, now, None)
        await self.session.flush()

    async def apply_event(self, event: IndexEvent) -> None:
        """Record what the event changed, for tracked projects only (cheap otherwise)."""
        if event.project not in self.tracked:
            return
        project = await self.project(event.project, with_files=True)
        if project is None:
            return
        kind, at = event.kind, event.at
        record(self.session, project, event)
        if kind is EventKind.CREATE:
            project.created_at = project.created_at or at
            project.first_seen_serial = project.first_seen_serial or event.serial
            project.removed_at = project.removed_serial = None
        elif kind is EventKind.REMOVE_PROJECT:
            project.removed_at, project.removed_serial = at, event.serial
            for release in project.releases:
                _remove_release(release, at)
        elif kind is EventKind.NEW_RELEASE and event.version:
            known = [r for r in project.releases if r.version == event.version]
            for release in known:  # re-created (a restore): present again
                release.removed_at = None
            if not known:
                project.releases.append(Release(version=event.version, created_at=at, files=[]))
        elif kind is EventKind.ADD_FILE:
            for release in project.releases:
                for file in release.files:
                    if file.filename == event.filename:
                        file.removed_at = None
        elif kind is EventKind.REMOVE_RELEASE:
            for release in project.releases:
                if release.version == event.version:
                    _remove_release(release, at)
        elif kind is EventKind.REMOVE_FILE:
            for release in project.releases:
                for file in release.files:
                    if file.filename == event.filename:
                        file.removed_at = file.removed_at or at
        elif kind in (EventKind.YANK, EventKind.UNYANK):
            for release in project.releases:
                if release.version == event.version:
                    release.yanked = kind is EventKind.YANK
                    for file in release.files:
                        file.yanked = release.yanked
        elif kind in (EventKind.QUARANTINE_PROJECT, EventKind.QUARANTINE_PROJECT_CLEARED):
            project.quarantined = kind is EventKind.QUARANTINE_PROJECT
        elif kind in _ROLE_GAINED and event.user and event.role:
            await self._grant(project, event.user, event.role, at, event.serial)
        elif kind is EventKind.ROLE_CHANGE and event.user and event.role:
            await self._grant(project, event.user, event.role, at, event.serial, keep_added=True)
        elif kind is EventKind.ROLE_REMOVE and event.user:
            role = await self._role(project, event.user)
            if role is not None:
                role.removed_at = at
        await self.session.flush()

    async def account(self, username: str, now: datetime | None = None) -> Account:
        account = (
            await self.session.execute(select(Account).where(Account.username == username))
        ).scalar_one_or_none()
        if account is None:
            account = Account(username=username, first_seen_at=now)
            self.session.add(account)
            await self.session.flush()
        return account

    async def roles(self, name: str) -> list[tuple[Role, Account]]:
        rows = await self.session.execute(
            select(Role, Account)
            .join(Account, Role.account_id == Account.id)
            .join(Project, Role.project_id == Project.id)
            .where(Project.normalized_name == canonicalize(name))
            .order_by(Role.id)
        )
        return [(role, account) for role, account in rows.all()]

    async def _role(self, project: Project, username: str) -> Role | None:
        account = await self.account(username)
        return (
            await self.session.execute(
                select(Role).where(Role.project_id == project.id, Role.account_id == account.id)
            )
        ).scalar_one_or_none()

    async def _grant(
        self, project: Project, username: str, role_name: str, at: datetime,
        serial: int | None, *, keep_added: bool = False,
    ) -> None:
        account = await self.account(username, at)
        role = await self._role(project, username)
        if role is None:
            self.session.add(
                Role(project_id=project.id, account_id=account.id, role=role_name,
                     added_at=at, added_serial=serial)
            )
        else:
            if role.removed_at is not None or (not keep_added and serial is not None):
                role.added_at, role.added_serial = at, serial or role.added_serial
            role.role, role.removed_at = role_name, None


def _remove_release(release: Release, at: datetime) -> None:
    release.removed_at = release.removed_at or at
    for file in release.files:
        file.removed_at = file.removed_at or at
