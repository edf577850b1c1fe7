"""One batch of events, from parsed entries to committed rows, in one transaction.

Inside the transaction, in this order: the JSON API facts fetched for the batch are
upserted into the ledger (releases and files; roles after the events, see
Ledger.apply_roles); each event is stored, shown to every detector (which sees
the ledger as it was just before that event), then applied to the ledger; findings
become incidents and outbox messages; the cursor moves to the batch's last serial.
Either all of that commits or none of it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.events import IndexEvent
from bot.feed.pypi import ProjectFacts
from bot.incidents import record_finding
from bot.ledger import Ledger, TrackedProjects
from bot.store.models import Event, FeedCursor
from detectors.base import Context, Detector


@dataclass(slots=True)
class BatchResult:
    events: int = 0
    first_serial: int | None = None
    last_serial: int | None = None
    incidents: list[int] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)


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

    async def commit_batch(
        self, events: Sequence[IndexEvent], facts: Sequence[ProjectFacts] = (),
        now: datetime | None = None,
    ) -> BatchResult:
        now = now or datetime.now(UTC)
        result = BatchResult()
        if not events:
            return result
        async with self.sessions.begin() as session:
            cursor = await read_cursor(session, self.feed_name, lock=True)
            if cursor is not None and events[0].serial <= cursor:
                # Someone (another replica, an earlier run) already stored these.
                events = [e for e in events if e.serial > cursor]
                if not events:
                    return result
            ledger = Ledger(session, self.tracked)
            ctx = Context(session=session, ledger=ledger, settings=self.settings, now=now)
            for fact in facts:
                await ledger.apply_facts(fact, now)
            # Core (not ORM) insert: one executemany, not a statement per row.
            await session.execute(insert(EVENTS), [_event_row(e) for e in events])
            for event in events:
                result.by_kind[event.kind.value] = result.by_kind.get(event.kind.value, 0) + 1
                for detector in self.detectors:
                    for finding in await detector.on_event(event, ctx):
                        incident = await record_finding(session, finding, now, self.notifiers)
                        result.incidents.append(incident.id)
                await ledger.apply_event(event)
            for fact in facts:
                await ledger.apply_roles(fact, now)
            await write_cursor(session, self.feed_name, events[-1].serial, now)
        result.events = len(events)
        result.first_serial, result.last_serial = events[0].serial, events[-1].serial
        return result

    async def sweep(self, now: datetime | None = None) -> list[int]:
        """Run every detector's scheduled sweep; its findings commit together."""
        now = now or datetime.now(UTC)
        opened: list[int] = []
        async with self.sessions.begin() as session:
            ctx = Context(session, Ledger(session, self.tracked), self.settings, now)
            for detector in self.detectors:
                for finding in await detector.sweep(ctx):
                    incident = await record_finding(session, finding, now, self.notifiers)
                    opened.append(incident.id)
        return opened

