"""Following a devpi primary: changelog page by page, one transaction per page.

For each page: the entries are checked (bot.feed.devpi_schema), the files uploaded to a
followed index are fetched and kept in blob storage (content-addressed, at PyPI's blob
path, so writing one twice is harmless), then in ONE transaction the ledger is updated,
the events are stored and shown to the detectors, findings become incidents, rejected
keys are recorded, and the cursor moves to the page's last serial. A crash anywhere
resumes from the last committed page; devpi keeps its whole changelog, so a restart of
either side loses nothing. A page that cannot be decoded never moves the cursor.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events import IndexEvent, RejectedEntry
from bot.feed.anomalies import note_stall, rejected_finding, store_rejects
from bot.feed.client import IndexUnavailable, describe
from bot.feed.devpi import DevpiFeed, FileProblem
from bot.feed.devpi_ledger import DevpiLedger, StoredBlob, mirror_names
from bot.feed.devpi_schema import Change, FileChange, check_entry
from bot.incidents import record_finding
from bot.ledger import Ledger, TrackedProjects
from bot.pipeline import read_cursor, write_cursor
from bot.store.devpi_models import DevpiEvent, DevpiServer
from bot.store.models import FeedCursor
from detectors.base import Context, Detector
from playbooks.storage.base import BlobStorage, blob_path

__all__ = ["DevpiSync", "DevpiSyncResult", "ServerChanged"]

log = structlog.get_logger(__name__)
FILES_PREFIX = "packages/"  # the blob layout restores read (PyPI's)


class ServerChanged(Exception):
    """The primary is not the one the stored cursor belongs to."""


@dataclass(slots=True)
class DevpiSyncResult:
    events: int = 0
    pages: int = 0
    cursor: int = -1
    head: int = -1
    incidents: list[int] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    stored_files: int = 0


def _row(feed: str, event: IndexEvent) -> dict[str, object]:
    return {"feed": feed, "serial": event.serial, "at": event.at, "kind": event.kind.value,
            "index": event.index or "", "project": event.project, "version": event.version,
            "filename": event.filename, "user": event.user or event.actor,
            "sha256": event.sha256,
            "raw": event.raw}


class DevpiSync:
    def __init__(self, feed: DevpiFeed, sessions: async_sessionmaker[AsyncSession],
                 storage: BlobStorage, *, indexes: Collection[str], url: str,
                 detectors: Sequence[Detector] = (), notifiers: Sequence[str] = (),
                 feed_name: str = "devpi", stall_incident_seconds: float = 900.0) -> None:
        self.feed, self.sessions, self.storage = feed, sessions, storage
        self.indexes, self.url = set(indexes), url
        self.detectors, self.notifiers = list(detectors), list(notifiers)
        self.feed_name = feed_name
        self.stall_incident_after = timedelta(seconds=stall_incident_seconds)

    async def _mirrors(self, changes: list[Change]) -> set[str]:
        if self.indexes:
            return set()
        async with self.sessions() as session:
            return await mirror_names(session, changes)

    async def _state(self) -> tuple[int, str | None]:
        async with self.sessions() as session:
            cursor = await read_cursor(session, self.feed_name)
            server = await session.get(DevpiServer, self.feed_name)
        return (-1 if cursor is None else cursor), (server.uuid if server else None)

    async def _keep(self, change: FileChange) -> StoredBlob | RejectedEntry:
        assert change.sha256 is not None
        try:
            data = await self.feed.fetch_file(change.relpath, change.sha256)
        except FileProblem as exc:
            return RejectedEntry(None, change.relpath, f"file not kept: {exc}", source="devpi")
        b2 = hashlib.blake2b(data, digest_size=32).hexdigest()
        path = FILES_PREFIX + blob_path(b2, change.filename)
        await self.storage.ensure(path, data)
        return StoredBlob(len(data), b2, path)

    async def _blobs(self, changes: list[Change]) -> tuple[dict[str, StoredBlob],
                                                            list[RejectedEntry]]:
        # Only the files still present at the end of the page: one uploaded and removed
        # within the page is gone from the primary already.
        final: dict[str, FileChange] = {}
        mirrors = await self._mirrors(changes)
        for change in changes:
            if (isinstance(change, FileChange) and change.index not in mirrors
                    and (not self.indexes or change.index in self.indexes)):
                final[change.relpath] = change
        wanted = [c for c in final.values() if c.sha256 is not None]
        gate = asyncio.Semaphore(4)

        async def one(change: FileChange) -> StoredBlob | RejectedEntry:
            async with gate:
                return await self._keep(change)

        kept = await asyncio.gather(*(one(c) for c in wanted))
        blobs = {c.relpath: k for c, k in zip(wanted, kept, strict=True)
                 if isinstance(k, StoredBlob)}
        return blobs, [k for k in kept if isinstance(k, RejectedEntry)]

    async def sync(self, stop: asyncio.Event | None = None) -> DevpiSyncResult:
        """Follow the changelog from the stored cursor to the primary's head; a pass that
        fails is noted, and one failing for `stall_incident_seconds` opens the devpi
        feed's `stalled` incident (as the PyPI feed's)."""
        try:
            result = await self._sync(stop)
        except (IndexUnavailable, ServerChanged) as exc:
            await self._stalled(describe(exc))
            raise
        await self._recovered()
        return result

    async def _stalled(self, reason: str) -> None:
        async with self.sessions.begin() as session:
            # Never followed yet: `warden devpi sync` says why, nothing to age.
            await note_stall(session, self.feed_name, reason, datetime.now(UTC),
                             self.stall_incident_after, self.notifiers)

    async def _recovered(self) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(FeedCursor, self.feed_name)
            if row is not None:
                row.checked_at = datetime.now(UTC)
                row.stalled_since = row.stall_reason = None

    async def _sync(self, stop: asyncio.Event | None) -> DevpiSyncResult:
        result = DevpiSyncResult()
        cursor, uuid = await self._state()
        result.cursor = cursor
        while not (stop and stop.is_set()):
            page = await self.feed.changes_since(cursor + 1, uuid)
            result.head = page.head
            if uuid is not None and page.uuid != uuid:
                raise ServerChanged(f"{self.url} is devpi server {page.uuid}, the cursor "
                                    f"belongs to {uuid}")
            if not page.entries:
                break
            now = datetime.now(UTC)
            checked: list[tuple[int, list[Change]]] = []
            rejects: list[RejectedEntry] = []
            for serial, changes in page.entries:
                found, refused = check_entry(serial, changes)
                checked.append((serial, found))
                rejects += refused
            blobs, lost = await self._blobs([c for _, found in checked for c in found])
            committed = await self._commit(checked, blobs, [*rejects, *lost], page.uuid, now,
                                           result)
            if committed is None:
                break  # someone else stored this page first: read the cursor again
            cursor, uuid = committed, page.uuid
            result.cursor, result.pages = cursor, result.pages + 1
            result.stored_files += len(blobs)
            if cursor >= page.head:
                break  # at the head the primary would only wait and answer 202
        return result

    async def _commit(self, checked: list[tuple[int, list[Change]]],
                      blobs: dict[str, StoredBlob], rejects: list[RejectedEntry], uuid: str,
                      now: datetime, result: DevpiSyncResult) -> int | None:
        first, last = checked[0][0], checked[-1][0]
        async with self.sessions.begin() as session:
            stored = await read_cursor(session, self.feed_name, lock=True)
            if stored is not None and stored >= first:
                return None
            server = await session.get(DevpiServer, self.feed_name)
            if server is None:
                session.add(DevpiServer(feed=self.feed_name, uuid=uuid, url=self.url[:1024]))
            ledger = DevpiLedger(session, self.indexes)
            ctx = Context(session=session, ledger=Ledger(session, TrackedProjects()), now=now)
            events: list[IndexEvent] = []
            for serial, changes in checked:
                events += await ledger.apply(serial, now, changes, blobs)
            for event in events:
                result.by_kind[event.kind.value] = result.by_kind.get(event.kind.value, 0) + 1
                for detector in self.detectors:
                    for finding in await detector.on_event(event, ctx):
                        incident = await record_finding(session, finding, now, self.notifiers)
                        result.incidents.append(incident.id)
            if events:
                await session.execute(insert(DevpiEvent),
                                      [_row(self.feed_name, e) for e in events])
            fresh = await store_rejects(session, self.feed_name, rejects, now)
            if fresh:
                incident = await record_finding(
                    session, rejected_finding(self.feed_name, fresh), now, self.notifiers)
                result.incidents.append(incident.id)
            await write_cursor(session, self.feed_name, last, now)
        result.events += len(events)
        result.rejected += len(fresh)
        log.info("devpi.page", first=first, last=last, events=len(events))
        return last
