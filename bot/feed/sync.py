"""Following the changelog: fetch from the stored cursor, commit batch by batch.

The cursor lives only in the store and moves only in `Pipeline.commit_batch`, so a
crash at any point resumes from the last committed batch with nothing lost or
repeated. Progress is measured by that cursor, never by "the page was not empty": a
page that brings nothing past the cursor ends the pass, or, when the index claims a
higher last serial, is a feed anomaly retried with backoff.

One bad entry never stops the feed: entries that fail validation are recorded as
rejected (bot.feed.schema), and a batch that fails for any other reason than an
unreachable store is split until the one entry that fails alone is set aside the same
way. A stop request ends any wait on the index at once; a batch being stored is
finished and committed first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import structlog
from sqlalchemy import exc as sa_exc

from bot.events import IndexEvent, RejectedEntry, verbatim
from bot.facts import ProjectFacts
from bot.feed.anomalies import note_stall
from bot.feed.client import IndexUnavailable, describe
from bot.feed.pypi import PyPIFeed, RejectedDocument
from bot.feed.schema import Page
from bot.ledger import REFRESH_KINDS
from bot.metrics import FEED_ANOMALIES
from bot.names import canonicalize
from bot.notify.base import Notifier
from bot.notify.outbox import deliver_pending
from bot.pipeline import BatchResult, Pipeline
from bot.store.models import FeedCursor

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Failures that say nothing about the entries: the pass ends and is tried again later.
_TRANSIENT = (sa_exc.OperationalError, sa_exc.InterfaceError, OSError, TimeoutError)


class FeedStalled(IndexUnavailable):
    """The index keeps sending nothing new while it claims to have more."""


class FeedStopped(Exception):
    """A stop was requested while the feed waited on the index."""


class FeedUsageError(ValueError):
    """Where to start or stop cannot be honoured (e.g. a start behind the stored cursor)."""


@dataclass(frozen=True, slots=True)
class Start:
    """Where a pass starts: the cursor, and on a first run or a jump, why there."""

    cursor: int
    notice: str | None = None
    first_run: bool = False


@dataclass(slots=True)
class SyncResult:
    events: int = 0
    batches: int = 0
    cursor: int | None = None
    incidents: list[int] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    stopped: bool = False
    notice: str | None = None  # where a first run started, and why
    first_run: bool = False

    def add(self, batch: BatchResult) -> None:
        self.events += batch.events
        self.rejected += batch.rejected
        self.batches += 1
        self.cursor = batch.last_serial if batch.last_serial is not None else self.cursor
        self.incidents.extend(batch.incidents)
        for kind, count in batch.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + count


async def until_stopped(work: Awaitable[T], stop: asyncio.Event | None) -> T:
    """`work`'s result, or FeedStopped as soon as `stop` is set (work is cancelled): a
    wait on the index (retries, Retry-After, a server that never answers) ends at once."""
    task = asyncio.ensure_future(work)
    if stop is None:
        return await task
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    raise FeedStopped


def _as_entry(event: IndexEvent) -> str:
    return verbatim([event.project, event.version, event.at.timestamp(), event.raw,
                     event.serial])


def _chunks(events: Sequence[IndexEvent], rejects: Sequence[RejectedEntry], size: int
            ) -> list[tuple[list[IndexEvent], list[RejectedEntry]]]:
    """Batches of at most `size` events, each with the rejections among its serials
    (rejections that have no usable serial go with the first batch)."""
    positioned = sorted((r for r in rejects if r.serial is not None),
                        key=lambda r: r.serial or 0)
    chunks: list[tuple[list[IndexEvent], list[RejectedEntry]]] = []
    rest = [r for r in rejects if r.serial is None]
    for start in range(0, max(len(events), 1), size):
        part = list(events[start : start + size])
        last = part[-1].serial if part and start + size < len(events) else None
        mine = [r for r in positioned if last is None or (r.serial or 0) <= last]
        positioned = positioned[len(mine):]
        chunks.append((part, rest + mine))
        rest = []
    return chunks


class FeedSync:
    def __init__(
        self,
        feed: PyPIFeed,
        pipeline: Pipeline,
        *,
        batch_size: int,
        start_serial: int | None,
        ledger_concurrency: int = 8,
        notifiers: Mapping[str, Notifier] | None = None,
        resend_retries: int = 3,
        resend_backoff_seconds: float = 1.0,
        stall_incident_seconds: float = 900.0,
    ) -> None:
        self.feed = feed
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.start_serial = start_serial
        self.ledger_concurrency = ledger_concurrency
        self.notifiers = dict(notifiers or {})
        self.resend_retries = resend_retries
        self.resend_backoff_seconds = resend_backoff_seconds
        self.stall_incident_after = timedelta(seconds=stall_incident_seconds)

    async def cursor(self) -> int:
        """The stored cursor; on the very first run, where the configuration says to start."""
        return (await self.prepare()).cursor

    async def prepare(self, from_serial: int | None = None, until: int | None = None) -> Start:
        """The cursor to start from, stored before any entry is: on a first run, where
        `from_serial` (the first serial to process), `feed.start_serial` or the index's
        current serial says, never past `until`; with a stored cursor, `from_serial` may
        only skip ahead (entries already stored are never processed twice)."""
        stored = await self.pipeline.cursor()
        if stored is not None:
            if from_serial is None or from_serial - 1 == stored:
                return Start(stored)
            if from_serial - 1 < stored:
                raise FeedUsageError(
                    f"the store already holds the changelog up to serial {stored}: "
                    f"--from-serial {from_serial} would process entries again; use a fresh "
                    "store to replay history")
            await self.pipeline.skip_to(from_serial - 1)
            return Start(from_serial - 1,
                         f"skipping serials {stored + 1}..{from_serial - 1} as asked "
                         f"(--from-serial {from_serial})")
        if from_serial is not None:
            start, why = from_serial - 1, f"starting at serial {from_serial} as asked"
        elif self.start_serial is not None:
            start = self.start_serial
            why = f"no cursor stored: starting after serial {start} (feed.start_serial)"
        else:
            start = await self.feed.last_serial()
            if until is not None and until < start:
                raise FeedUsageError(
                    f"no cursor is stored yet and --until-serial {until} is below the index's "
                    f"current serial {start}: give --from-serial N to say where to start")
            why = (f"no cursor stored: starting at the index's current serial {start}; "
                   "earlier history is not replayed (use --from-serial N to start at serial N)")
        if until is not None and start > until:
            raise FeedUsageError(f"--until-serial {until} is before the start ({start + 1})")
        await self.pipeline.start_at(start)
        log.info("feed.first_run", cursor=start, why=why)
        return Start(start, why, first_run=True)

    # -- waiting on the index, interruptibly ---------------------------------------------

    @staticmethod
    async def _wait(work: Awaitable[T], stop: asyncio.Event | None) -> T:
        return await until_stopped(work, stop)

    @staticmethod
    async def _sleep(seconds: float, stop: asyncio.Event | None) -> None:
        if stop is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        if stop.is_set():
            raise FeedStopped

    async def _facts(self, events: Sequence[IndexEvent]
                     ) -> tuple[list[ProjectFacts], list[RejectedEntry]]:
        """JSON API facts for the tracked projects the events touch, and the documents
        that were refused (about another project, malformed, ...)."""
        names = sorted(
            {canonicalize(e.project) for e in events
             if e.kind in REFRESH_KINDS and e.project in self.pipeline.tracked}
        )
        if not names:
            return [], []
        gate = asyncio.Semaphore(self.ledger_concurrency)

        async def one(name: str) -> ProjectFacts | RejectedEntry | None:
            async with gate:
                try:
                    return await self.feed.project(name)
                except RejectedDocument as exc:
                    return RejectedEntry(None, exc.raw or verbatim(str(exc)), exc.reason,
                                         source=f"json:{name}")

        found = await asyncio.gather(*(one(n) for n in names))
        return ([f for f in found if isinstance(f, ProjectFacts)],
                [f for f in found if isinstance(f, RejectedEntry)])

    # -- committing, with poison isolation -------------------------------------------------

    async def _commit(self, events: list[IndexEvent], rejects: list[RejectedEntry],
                      facts: list[ProjectFacts]) -> list[BatchResult]:
        try:
            return [await self.pipeline.commit_batch(events, facts, rejected=rejects)]
        except _TRANSIENT:
            raise
        except Exception as exc:
            if not events and not facts:
                raise  # nothing left to set aside: the store itself refuses
            log.warning("feed.batch_failed", events=len(events), facts=len(facts),
                        error=f"{type(exc).__name__}: {exc}"[:500])
            return await self._isolate(events, rejects, facts, exc)

    async def _isolate(self, events: list[IndexEvent], rejects: list[RejectedEntry],
                       facts: list[ProjectFacts], exc: Exception) -> list[BatchResult]:
        """Split a failing batch until the entry (or document) that fails alone is found."""
        why = f"could not be processed: {type(exc).__name__}: {exc}"[:4096]
        if facts:
            # The documents first: without them, do the entries pass?
            refused = [RejectedEntry(None, verbatim(f.name), why, source=f"json:{f.name}")
                       for f in facts]
            return await self._commit(events, rejects + refused, [])
        if len(events) == 1:
            event = events[0]
            return await self._commit([], [*rejects, RejectedEntry(event.serial, _as_entry(event),
                                                                   why)], [])
        half = len(events) // 2
        first, second = events[:half], events[half:]
        cut = first[-1].serial
        early = [r for r in rejects if r.serial is None or r.serial <= cut]
        late = [r for r in rejects if r.serial is not None and r.serial > cut]
        return [*await self._commit(first, early, []), *await self._commit(second, late, [])]

    # -- one pass --------------------------------------------------------------------------

    async def _behind(self, events: Sequence[IndexEvent]) -> list[RejectedEntry]:
        """Entries at or below the cursor: a re-sent page is harmless, an entry that was
        never stored (or stored differently) is an anomaly."""
        first = await self.pipeline.first_serial()
        mine = [e for e in events if e.serial > first]
        if not mine:
            return []
        stored = await self.pipeline.stored([e.serial for e in mine])
        found: list[RejectedEntry] = []
        for event in mine:
            seen = stored.get(event.serial)
            if seen is None:
                found.append(RejectedEntry(event.serial, _as_entry(event),
                                           "serial: behind the cursor, and never stored"))
            elif seen != (event.project, event.version, event.raw):
                found.append(RejectedEntry(
                    event.serial, _as_entry(event),
                    "serial: behind the cursor, and differs from the entry stored under it"))
        return found

    async def _beyond_head(self, page: Page, head: int | None, stop: asyncio.Event | None
                           ) -> tuple[Page, int | None]:
        """Entries numbered past the index's own last serial are set aside, so that one
        forged serial cannot move the cursor beyond everything the index will ever send.
        (The head is read again first: an honest index may have moved on meanwhile.)"""
        top = max((e.serial for e in page.events), default=0)
        if head is not None and top <= head:
            return page, head
        head = await self._wait(self.feed.last_serial(), stop)
        if top <= head:
            return page, head
        beyond = [e for e in page.events if e.serial > head]
        FEED_ANOMALIES.labels("beyond_head").inc(len(beyond))
        kept = [e for e in page.events if e.serial <= head]
        refused = [RejectedEntry(e.serial, _as_entry(e),
                                 f"serial: beyond the index's own last serial {head}")
                   for e in beyond]
        # Placed, but not where the cursor may follow: no serial, the raw text keeps it.
        refused = [RejectedEntry(None, r.raw, r.reason) for r in refused]
        return Page(kept, [*page.rejected, *refused], page.size), head

    async def _nothing_new(self, cursor: int, until: int | None, resent: int,
                           stop: asyncio.Event | None) -> bool:
        """After a page with nothing new: True to fetch again (with backoff), False when
        the pass is done; FeedStalled when the index keeps claiming more."""
        head = await self._wait(self.feed.last_serial(), stop)
        if head <= cursor or (until is not None and cursor >= until):
            return False
        FEED_ANOMALIES.labels("resent_page").inc()
        log.warning("feed.anomaly", kind="resent_page", cursor=cursor, index_last_serial=head,
                    attempt=resent)
        if resent > self.resend_retries:
            raise FeedStalled(f"the index claims serial {head}, but changelog_since_serial"
                              f"({cursor}) brings nothing past {cursor}")
        await self._sleep(self.resend_backoff_seconds * 2 ** (resent - 1), stop)
        return True

    async def _pass(self, until: int | None, stop: asyncio.Event | None,
                    on_batch: Callable[[BatchResult], None] | None, result: SyncResult) -> None:
        cursor = result.cursor
        assert cursor is not None
        # The next page is fetched while the current one is stored: the index's
        # rendering and the network overlap with our own work.
        pending: asyncio.Task[Page] | None = None
        resent = 0
        head: int | None = None
        try:
            while (until is None or cursor < until) and not (stop and stop.is_set()):
                page = await self._wait(pending or self.feed.changelog_since(cursor), stop)
                pending = None
                page, head = await self._beyond_head(page, head, stop)
                events = [e for e in page.events
                          if e.serial > cursor and (until is None or e.serial <= until)]
                rejects = [r for r in page.rejected
                           if r.serial is None or until is None or r.serial <= until]
                rejects += await self._behind([e for e in page.events if e.serial <= cursor])
                if not events and not any((r.serial or 0) > cursor for r in rejects):
                    for batch in await self._commit([], rejects, []) if rejects else []:
                        result.add(batch)
                    resent += 1
                    if not page or not await self._nothing_new(cursor, until, resent, stop):
                        break
                    continue
                resent = 0
                top = max([e.serial for e in page.events] + [r.serial or 0 for r in page.rejected])
                if until is None or top < until:
                    pending = asyncio.ensure_future(self.feed.changelog_since(max(top, cursor)))
                for part, part_rejects in _chunks(events, rejects, self.batch_size):
                    facts, refused = await self._wait(self._facts(part), stop)
                    for batch in await self._commit(part, part_rejects + refused, facts):
                        result.add(batch)
                        # The stored cursor: another process may have stored these first.
                        cursor = max(cursor, batch.cursor or cursor)
                        if on_batch:
                            on_batch(batch)
                    await self.deliver()
                    if stop and stop.is_set():
                        break
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending
        result.cursor = cursor

    async def sync(
        self,
        until: int | None = None,
        stop: asyncio.Event | None = None,
        on_batch: Callable[[BatchResult], None] | None = None,
    ) -> SyncResult:
        """Process the changelog from the cursor to the index's last serial (or `until`).

        Returns what was stored (`stopped` when a stop request ended it early); raises
        IndexUnavailable when the index could not be read, after recording the stall.
        """
        result = SyncResult()
        try:
            start = await self._wait(self.prepare(until=until), stop)
            result.cursor, result.notice, result.first_run = (start.cursor, start.notice,
                                                              start.first_run)
            await self._pass(until, stop, on_batch, result)
        except FeedStopped:
            result.stopped = True
            return result
        except IndexUnavailable as exc:
            await self._stalled(describe(exc))
            raise
        await self._recovered()
        return result

    # -- stalls ------------------------------------------------------------------------------

    async def _stalled(self, reason: str) -> None:
        """Note a failed pass; one that lasts opens the feed's `stalled` incident (once)."""
        async with self.pipeline.sessions.begin() as session:
            await note_stall(session, self.pipeline.feed_name, reason, datetime.now(UTC),
                             self.stall_incident_after, self.pipeline.notifiers)

    async def _recovered(self) -> None:
        async with self.pipeline.sessions.begin() as session:
            row = await session.get(FeedCursor, self.pipeline.feed_name)
            if row is not None and row.stalled_since is not None:
                log.info("feed.recovered", stalled_since=row.stalled_since.isoformat())
                row.stalled_since = row.stall_reason = None

    # -- delivery and the loop ---------------------------------------------------------------

    async def deliver(self) -> int:
        if not self.notifiers:
            return 0
        return await deliver_pending(
            self.pipeline.sessions, self.notifiers, datetime.now(UTC)
        )

    async def run_forever(self, stop: asyncio.Event, poll_interval: float) -> None:
        """Poll until `stop` is set; an unavailable index is logged and tried again."""
        while not stop.is_set():
            try:
                result = await self.sync(stop=stop)
                if result.events:
                    log.info("feed.synced", events=result.events, cursor=result.cursor,
                             incidents=len(result.incidents))
            except IndexUnavailable as exc:
                log.warning("feed.index_unavailable", error=str(exc))
            await self.deliver()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_interval)
