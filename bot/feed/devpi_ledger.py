"""The devpi ledger: checked changelog changes applied to the devpi tables, as events.

What kind of event a change is depends on what was there before (a versions list that
lost an entry is a removed release), so each change is compared with the stored rows
inside the batch's transaction and the events come out of that comparison. Within one
serial, additions come before removals, and the files and releases a project removal
takes away are recorded without an event of their own (one removal, one event).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import EventKind, IndexEvent
from bot.feed.devpi_schema import Change, FileChange, ProjectChange, UserChange
from bot.names import canonicalize
from bot.store.devpi_models import DevpiFile, DevpiIndex, DevpiProject, DevpiUser

__all__ = ["DevpiLedger", "StoredBlob", "mirror_names"]


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """A file's bytes as the feed fetched, checked and stored them."""

    size: int
    blake2b_256: str
    path: str


async def mirror_names(session: AsyncSession, changes: list[Change]) -> set[str]:
    """The mirror indexes, as stored and as the changes about to be applied say."""
    found = set((await session.execute(
        select(DevpiIndex.name).where(DevpiIndex.type == "mirror"))).scalars())
    for change in changes:
        if isinstance(change, UserChange) and change.indexes:
            found |= {n for n, c in change.indexes.items() if c.type == "mirror"}
    return found


def _raw(**fields: object) -> str:
    return json.dumps({k: v for k, v in fields.items() if v is not None}, sort_keys=True)


class DevpiLedger:
    def __init__(self, session: AsyncSession, indexes: Collection[str]) -> None:
        self.session = session
        self.indexes = set(indexes)  # empty: every index on the server but mirrors
        self.mirrors: set[str] = set()

    def follows(self, index: str) -> bool:
        """A followed index: one of `indexes`, else any index but a mirror (a mirror's
        cached PyPI projects are not internal names, nor its files ours to keep)."""
        if self.indexes:
            return index in self.indexes
        return index not in self.mirrors

    async def apply(self, serial: int, at: datetime, changes: list[Change],
                    blobs: dict[str, StoredBlob]) -> list[IndexEvent]:
        events: list[IndexEvent] = []
        self.mirrors = await mirror_names(self.session, changes)

        def event(kind: EventKind, index: str, project: str, raw: str, **extra: str | None
                  ) -> None:
            events.append(IndexEvent(serial, at, kind, project, extra.pop("version", None), raw,
                                     index=index, **extra))

        for change in changes:
            if isinstance(change, UserChange):
                await self._user(change, serial, at, event)
        # What a project or release removal in this serial took away: its files get no
        # removal event of their own (one removal, one event).
        gone: set[tuple[str, ...]] = set()
        for change in changes:
            if isinstance(change, ProjectChange) and self.follows(change.index):
                gone |= await self._project(change, serial, at, event)
        for change in changes:
            if isinstance(change, FileChange) and self.follows(change.index):
                await self._file(change, serial, at, blobs, gone, event)
        order = {EventKind.REMOVE_FILE: 1, EventKind.REMOVE_RELEASE: 2,
                 EventKind.REMOVE_PROJECT: 3}
        events.sort(key=lambda e: order.get(e.kind, 0))
        await self.session.flush()
        return events

    # -- users and index configuration -------------------------------------------------

    async def _user(self, change: UserChange, serial: int, at: datetime, event: _Emit) -> None:
        user = await self.session.get(DevpiUser, change.username)
        if user is None:
            user = DevpiUser(username=change.username)
            self.session.add(user)
            event(EventKind.OTHER, "", change.username, _raw(action="user created",
                                                             user=change.username),
                  user=change.username)
        if change.indexes is None:
            if user.removed_at is None:
                user.removed_at = at
                event(EventKind.OTHER, "", change.username,
                      _raw(action="user removed", user=change.username), user=change.username)
        else:
            user.removed_at = None
        user.email = change.email
        stored = {i.name: i for i in (await self.session.execute(
            select(DevpiIndex).where(DevpiIndex.owner == change.username))).scalars()}
        now = change.indexes or {}

        def on(index: str) -> _Emit:
            return event if self.follows(index) else _quiet

        for name, config in now.items():
            # Every index's configuration is kept (which bases lead to PyPI is a question
            # about all of them); events are only for the followed ones.
            row = stored.get(name)
            fresh = row is None
            if row is None or row.removed_at is not None:
                on(name)(EventKind.OTHER, name, name, _raw(action="index created", index=name,
                                                        bases=list(config.bases)))
                if row is None:
                    row = DevpiIndex(name=name, owner=change.username, acl_upload=[], bases=[])
                    self.session.add(row)
                row.removed_at = None
            before = set(row.acl_upload or [])
            for user_name in sorted(set(config.acl_upload) - before):
                on(name)(EventKind.ROLE_ADD, name, name,
                      _raw(action="acl_upload add", index=name, user=user_name),
                      user=user_name, role="upload")
            for user_name in sorted(before - set(config.acl_upload)):
                on(name)(EventKind.ROLE_REMOVE, name, name,
                      _raw(action="acl_upload remove", index=name, user=user_name),
                      user=user_name, role="upload")
            if not fresh and list(row.bases or []) != list(config.bases):
                on(name)(EventKind.OTHER, name, name, _raw(
                    action="bases changed", index=name, before=list(row.bases),
                    after=list(config.bases)))
            row.type, row.bases, row.acl_upload = (config.type, list(config.bases),
                                                   list(config.acl_upload))
            row.mirror_whitelist = list(config.mirror_whitelist)
            row.whitelist_inheritance = config.whitelist_inheritance
            row.updated_serial = serial
        for name, row in stored.items():
            if name not in now and row.removed_at is None:
                row.removed_at, row.updated_serial = at, serial
                on(name)(EventKind.OTHER, name, name, _raw(action="index removed", index=name))

    # -- projects and releases ---------------------------------------------------------

    async def project_row(self, index: str, name: str) -> DevpiProject | None:
        return (await self.session.execute(select(DevpiProject).where(
            DevpiProject.index == index, DevpiProject.normalized_name == canonicalize(name))
        )).scalar_one_or_none()

    async def _project(self, change: ProjectChange, serial: int, at: datetime, event: _Emit
                       ) -> set[tuple[str, ...]]:
        """Apply a project's versions list; returns what it removed: (index, project) for
        the project, (index, project, version) for each release."""
        row = await self.project_row(change.index, change.project)
        name, index = change.project, change.index
        key = (index, canonicalize(name))
        if change.versions is None:
            if row is None or row.removed_at is not None:
                return set()
            row.removed_at, row.removed_serial = at, serial
            event(EventKind.REMOVE_PROJECT, index, name, _raw(
                action="remove project", index=index, versions=list(row.versions)))
            for file in await self._files(index, name):
                file.removed_at, file.removed_serial = file.removed_at or at, serial
            return {key}
        if row is None or row.removed_at is not None:
            event(EventKind.CREATE, index, name, _raw(action="create", index=index))
            if row is None:
                row = DevpiProject(index=index, name=name, normalized_name=canonicalize(name),
                                   created_serial=serial, versions=[])
                self.session.add(row)
            row.removed_at = row.removed_serial = None
            row.versions = []
        before = set(row.versions or [])
        removed: set[tuple[str, ...]] = set()
        for version in sorted(set(change.versions) - before):
            event(EventKind.NEW_RELEASE, index, name,
                  _raw(action="new release", index=index, version=version), version=version)
        for version in sorted(before - set(change.versions)):
            event(EventKind.REMOVE_RELEASE, index, name,
                  _raw(action="remove release", index=index, version=version), version=version)
            for file in await self._files(index, name, version):
                file.removed_at, file.removed_serial = file.removed_at or at, serial
            removed.add((*key, version))
        row.versions = list(change.versions)
        return removed

    async def _files(self, index: str, project: str, version: str | None = None
                     ) -> list[DevpiFile]:
        query = select(DevpiFile).where(DevpiFile.index == index,
                                        DevpiFile.project == canonicalize(project),
                                        DevpiFile.removed_at.is_(None))
        if version is not None:
            query = query.where(DevpiFile.version == version)
        return list((await self.session.execute(query)).scalars())

    # -- files -------------------------------------------------------------------------

    async def _file(self, change: FileChange, serial: int, at: datetime,
                    blobs: dict[str, StoredBlob], gone: set[tuple[str, ...]], event: _Emit
                    ) -> None:
        row = (await self.session.execute(select(DevpiFile).where(
            DevpiFile.relpath == change.relpath))).scalar_one_or_none()
        if change.sha256 is None:  # deleted
            if row is None or (row.removed_at is not None and row.removed_serial != serial):
                return
            removed_with_project = bool({(row.index, row.project),
                                         (row.index, row.project, row.version)} & gone)
            if row.removed_at is None:
                row.removed_at, row.removed_serial = at, serial
            if not removed_with_project and row.removed_serial == serial:
                event(EventKind.REMOVE_FILE, row.index, row.project, _raw(
                    action="remove file", index=row.index, filename=row.filename,
                    sha256=row.sha256), version=row.version, filename=row.filename,
                    sha256=row.sha256)
            return
        assert change.project is not None and change.version is not None
        if row is None:
            row = DevpiFile(relpath=change.relpath, index=change.index,
                            project=canonicalize(change.project), version=change.version,
                            filename=change.filename, sha256=change.sha256,
                            added_serial=serial, added_at=at)
            self.session.add(row)
        elif row.removed_at is None and row.sha256 == change.sha256:
            return  # the same file written again (metadata only)
        row.sha256, row.added_serial, row.added_at = change.sha256, serial, at
        row.removed_at = row.removed_serial = None
        row.uploader = change.uploader or row.uploader
        blob = blobs.get(change.relpath)
        if blob is not None:
            row.size, row.blake2b_256, row.blob_path = blob.size, blob.blake2b_256, blob.path
        event(EventKind.ADD_FILE, change.index, change.project, _raw(
            action="add file", index=change.index, filename=change.filename,
            sha256=change.sha256, uploader=change.uploader, stored=blob.path if blob else None),
            version=change.version, filename=change.filename, sha256=change.sha256,
            actor=change.uploader)


def _quiet(kind: EventKind, index: str, project: str, raw: str, **extra: str | None) -> None:
    """An index the feed does not follow: its configuration is kept, without events."""


class _Emit(Protocol):
    """The signature of the event() helper in DevpiLedger.apply."""

    def __call__(self, kind: EventKind, index: str, project: str, raw: str,
                 **extra: str | None) -> None: ...
