"""One batch of events, from parsed entries to committed rows, in one transaction.

Inside the transaction, in this order: the JSON API facts fetched for the batch are
upserted into the ledger (releases and files; roles after the events, see
Ledger.apply_roles); each event is stored, shown to every detector (which sees
the ledger as it was just before that event), then applied to the ledger; findings
become incidents and outbox messages; the cursor moves to the batch's last serial.
Entries the feed set aside (bot.feed.schema) are stored in `feed_rejects` in the same
transaction and raise the feed's anomaly incident; the cursor moves past them too,
since they are recorded. Either all of that commits or none of it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.events import IndexEvent, RejectedEntry
from bot.facts import ProjectFacts
from bot.feed.anomalies import rejected_finding, store_rejects
from bot.incidents import record_finding
from bot.ledger import Ledger, TrackedProjects
from bot.metrics import FEED_ANOMALIES
from bot.store.models import Event, FeedCursor
from detectors.base import Context, Detector


@dataclass(slots=True)
class BatchResult:
    events: int = 0
    first_serial: int | None = None
    last_serial: int | None = None  # the cursor after the batch, when it moved
    cursor: int | None = None  # the stored cursor after the batch, moved or not
    incidents: list[int] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    rejected: int = 0  # rejections recorded for the first time


async def read_cursor(session: AsyncSession, feed: str, *, lock: bool = False) -> int | None:
    """The stored serial; `lock` holds the row until commit (PostgreSQL), so two writers
    can never store the same batch: the second waits, then sees the moved cursor."""
    row = await session.get(FeedCursor, feed, with_for_update=lock or None,
                            populate_existing=lock)
    return None if row is None else row.serial


async def write_cursor(session: AsyncSession, feed: str, serial: int, now: datetime) -> None:
    row = await session.get(FeedCursor, feed)
    if row is None:
        session.add(FeedCursor(feed=feed, serial=serial, updated_at=now))
    elif serial < row.serial:
        raise RuntimeError(f"cursor for {feed} would move back from {row.serial} to {serial}")
    else:
        row.serial, row.updated_at = serial, now
    await session.flush()


EVENTS: Table = Event.__table__  # type: ignore[assignment]


async def touch_cursor(session: AsyncSession, feed: str, now: datetime) -> None:
    """Record that a feed pass completed (for readiness), without moving the serial."""
    row = await session.get(FeedCursor, feed)
    if row is not None:
        row.checked_at = now


def _event_row(event: IndexEvent) -> dict[str, object]:
    return {
        "serial": event.serial, "at": event.at, "kind": event.kind.value,
        "project": event.project, "version": event.version, "filename": event.filename,
        "user": event.user, "role": event.role, "raw": event.raw,
    }


class Pipeline:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        detectors: Sequence[Detector],
        tracked: TrackedProjects,
        notifiers: Sequence[str],
        feed_name: str = "pypi",
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.detectors = list(detectors)
        self.tracked = tracked
        self.notifiers = list(notifiers)
        self.feed_name = feed_name

    async def cursor(self) -> int | None:
        async with self.sessions() as session:
            return await read_cursor(session, self.feed_name)

    async def start_at(self, serial: int, now: datetime | None = None) -> None:
        """Set the cursor of a feed that has none yet (first run)."""
        async with self.sessions.begin() as session:
            if await read_cursor(session, self.feed_name) is None:
                await write_cursor(session, self.feed_name, serial, now or datetime.now(UTC))
                row = await session.get(FeedCursor, self.feed_name)
                assert row is not None
                row.first_serial = serial

    async def skip_to(self, serial: int, now: datetime | None = None) -> None:
        """Move the cursor forward past entries an admin chose not to process."""
        async with self.sessions.begin() as session:
            await write_cursor(session, self.feed_name, serial, now or datetime.now(UTC))
            row = await session.get(FeedCursor, self.feed_name)
            assert row is not None
            row.first_serial = serial  # what was skipped was never ours to store either

    async def first_serial(self) -> int:
        """The serial the feed started after (entries up to it were never stored)."""
        async with self.sessions() as session:
            row = await session.get(FeedCursor, self.feed_name)
            return (row.first_serial or 0) if row is not None else 0

    async def stored(self, serials: Sequence[int]) -> dict[int, tuple[str, str | None, str]]:
        """{serial: (project, version, action)} of the stored events among `serials`."""
        found: dict[int, tuple[str, str | None, str]] = {}
        async with self.sessions() as session:
            for start in range(0, len(serials), 500):
                rows = await session.execute(
                    select(Event.serial, Event.project, Event.version, Event.raw)
                    .where(Event.serial.in_(serials[start : start + 500])))
                found.update({r.serial: (r.project, r.version, r.raw) for r in rows})
        return found

    async def commit_batch(
        self, events: Sequence[IndexEvent], facts: Sequence[ProjectFacts] = (),
        now: datetime | None = None, rejected: Sequence[RejectedEntry] = (),
    ) -> BatchResult:
        now = now or datetime.now(UTC)
        result = BatchResult()
        if not events and not rejected:
            return result
        async with self.sessions.begin() as session:
            cursor = await read_cursor(session, self.feed_name, lock=True)
            if cursor is not None and events and events[0].serial <= cursor:
                # Someone (another replica, an earlier run) already stored these.
                events = [e for e in events if e.serial > cursor]
            ledger = Ledger(session, self.tracked)
            ctx = Context(session=session, ledger=ledger, now=now)
            problems: list[RejectedEntry] = []
            if events:
                for fact in facts:
                    problems += await ledger.apply_facts(fact, now)
                # Core (not ORM) insert: one executemany, not a statement per row.
                await session.execute(insert(EVENTS), [_event_row(e) for e in events])
            for event in events:
                result.by_kind[event.kind.value] = result.by_kind.get(event.kind.value, 0) + 1
                for detector in self.detectors:
                    for finding in await detector.on_event(event, ctx):
                        incident = await record_finding(session, finding, now, self.notifiers)
                        result.incidents.append(incident.id)
                await ledger.apply_event(event)
            if events:
                for fact in facts:
                    await ledger.apply_roles(fact, now)
            fresh = await store_rejects(session, self.feed_name, [*rejected, *problems], now)
            if fresh:
                incident = await record_finding(
                    session, rejected_finding(self.feed_name, fresh), now, self.notifiers)
                result.incidents.append(incident.id)
                FEED_ANOMALIES.labels("rejected").inc(len(fresh))
            serials = [e.serial for e in events] + [r.serial for r in rejected if r.serial]
            result.cursor = cursor
            if serials and (cursor is None or max(serials) > cursor):
                await write_cursor(session, self.feed_name, max(serials), now)
                result.last_serial = result.cursor = max(serials)
        result.events, result.rejected = len(events), len(fresh)
        result.first_serial = events[0].serial if events else None
        return result

    async def sweep(self, now: datetime | None = None) -> list[int]:
        """Run every detector's scheduled sweep; its findings commit together."""
        now = now or datetime.now(UTC)
        opened: list[int] = []
        async with self.sessions.begin() as session:
            ctx = Context(session, Ledger(session, self.tracked), now)
            for detector in self.detectors:
                for finding in await detector.sweep(ctx):
                    incident = await record_finding(session, finding, now, self.notifiers)
                    opened.append(incident.id)
        return opened

