"""Following the changelog: fetch from the stored cursor, commit batch by batch.

The cursor lives only in the store and moves only in `Pipeline.commit_batch`, so a
crash at any point resumes from the last committed batch with nothing lost or
repeated. A stop request is honoured between batches, never inside one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from bot.events import IndexEvent
from bot.feed.client import IndexUnavailable
from bot.feed.pypi import ProjectFacts, PyPIFeed
from bot.ledger import REFRESH_KINDS
from bot.names import canonicalize
from bot.notify.base import Notifier
from bot.notify.outbox import deliver_pending
from bot.pipeline import BatchResult, Pipeline

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class SyncResult:
    events: int = 0
    batches: int = 0
    cursor: int | None = None
    incidents: list[int] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, batch: BatchResult) -> None:
        self.events += batch.events
        self.batches += 1
        self.cursor = batch.last_serial if batch.last_serial is not None else self.cursor
        self.incidents.extend(batch.incidents)
        for kind, count in batch.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + count


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
    ) -> None:
        self.feed = feed
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.start_serial = start_serial
        self.ledger_concurrency = ledger_concurrency
        self.notifiers = dict(notifiers or {})

    async def cursor(self) -> int:
        """The stored cursor; on the very first run, where the configuration says to start."""
        cursor = await self.pipeline.cursor()
        if cursor is None:
            start = self.start_serial
            if start is None:
                start = await self.feed.last_serial()
            await self.pipeline.start_at(start)
            cursor = start
        return cursor

    async def _facts(self, events: Sequence[IndexEvent]) -> list[ProjectFacts]:
        names = sorted(
            {canonicalize(e.project) for e in events
             if e.kind in REFRESH_KINDS and e.project in self.pipeline.tracked}
        )
        if not names:
            return []
        gate = asyncio.Semaphore(self.ledger_concurrency)

        async def one(name: str) -> ProjectFacts | None:
            async with gate:
                return await self.feed.project(name)

        found = await asyncio.gather(*(one(n) for n in names))
        return [f for f in found if f is not None]

    async def sync(
        self,
        until: int | None = None,
        stop: asyncio.Event | None = None,
        on_batch: Callable[[BatchResult], None] | None = None,
    ) -> SyncResult:
        """Process the changelog from the cursor to the index's last serial (or `until`)."""
        result = SyncResult(cursor=await self.cursor())
        cursor = result.cursor
        assert cursor is not None
        # The next page is fetched while the current one is stored: the index's
        # rendering and the network overlap with our own work.
        pending: asyncio.Task[list[IndexEvent]] | None = None
        try:
            while (until is None or cursor < until) and not (stop and stop.is_set()):
                page = await pending if pending else await self.feed.changelog_since(cursor)
                pending = None
                events = [e for e in page if until is None or e.serial <= until]
                if not events:
                    break
                if len(events) == len(page) and (until is None or events[-1].serial < until):
                    pending = asyncio.create_task(self.feed.changelog_since(events[-1].serial))
                for start in range(0, len(events), self.batch_size):
                    chunk = events[start : start + self.batch_size]
                    batch = await self.pipeline.commit_batch(chunk, await self._facts(chunk))
                    result.add(batch)
                    cursor = chunk[-1].serial
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
        return result

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
