"""Replay protection: each signed request is accepted once.

Bolt (slack_sdk's SignatureVerifier) accepts any correctly signed request whose
timestamp is within 5 minutes, so a captured request could be sent again within that
window. Every accepted signature (an HMAC of timestamp and body, so unique per request)
is remembered for twice the window; a second copy is refused.

Where it is remembered depends on the store, because the store says how the bot runs:

- PostgreSQL (several replicas behind one URL): in `slack_seen_requests`, before the
  request goes on. The insert is the check (ON CONFLICT DO NOTHING RETURNING), so a
  copy sent to another replica is refused too. Concurrent requests share one insert.
- SQLite (embedded, one process): in this process's memory, checked before the request
  goes on, and written to the store right after (batched) so that a restart still
  knows the signatures of the last minutes. SQLite has one writer at a time; waiting
  for it on every request would cost a burst of clicks most of its latency budget.

Each process also keeps what it accepted in memory, so a copy sent to the same process
is refused without a store round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store.slack_models import SlackSeenRequest

__all__ = ["WINDOW", "SeenSignatures"]

log = structlog.get_logger(__name__)

WINDOW = timedelta(minutes=5)  # bolt's acceptance window
KEEP = 2 * WINDOW  # covers clock skew either way
PURGE_EVERY = timedelta(minutes=1)
BATCH = 500


class SeenSignatures:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime],
                 *, shared: bool) -> None:
        self.sessions = sessions
        self.clock = clock
        self.shared = shared
        self._recent: dict[str, datetime] = {}
        self._loading: asyncio.Task[None] | None = None
        self._pending: dict[str, list[asyncio.Future[bool]]] = {}
        self._writer: asyncio.Task[None] | None = None
        self._purged: datetime | None = None

    async def first_time(self, signature: str) -> bool:
        """True once per signature; False for every later copy (a replay)."""
        signature = signature[:96]
        if self._loading is None:
            self._loading = asyncio.create_task(self._load())
        await asyncio.shield(self._loading)
        if signature in self._recent:
            return False
        self._recent[signature] = self.clock()
        waiting = self._write_soon(signature, want_answer=self.shared)
        return True if waiting is None else await waiting

    async def _load(self) -> None:
        """Signatures accepted before this process started (a restart, another replica)."""
        since = self.clock() - KEEP
        async with self.sessions() as s:
            rows = await s.execute(select(SlackSeenRequest.signature, SlackSeenRequest.seen_at)
                                   .where(SlackSeenRequest.seen_at >= since))
            self._recent.update({sig: at for sig, at in rows.all()})

    def _write_soon(self, signature: str, *, want_answer: bool) -> asyncio.Future[bool] | None:
        waiting = self._pending.setdefault(signature, [])
        future: asyncio.Future[bool] | None = None
        if want_answer:
            future = asyncio.get_running_loop().create_future()
            waiting.append(future)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return future

    async def _write(self) -> None:
        while self._pending:
            batch = dict(list(self._pending.items())[:BATCH])
            for signature in batch:
                del self._pending[signature]
            try:
                fresh = await self._insert(list(batch))
            except Exception as exc:  # store down: refuse what waits (fail closed), log
                log.warning("slack.replay_store_failed", error=f"{type(exc).__name__}: {exc}")
                for future in (f for waiting in batch.values() for f in waiting):
                    if not future.done():
                        future.set_exception(exc)
                continue
            for signature, waiting in batch.items():
                for future in waiting:
                    if not future.done():
                        future.set_result(signature in fresh)

    async def _insert(self, signatures: list[str]) -> set[str]:
        now = self.clock()
        async with self.sessions.begin() as s:
            insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
            query = insert(SlackSeenRequest).values(
                [{"signature": sig, "seen_at": now} for sig in signatures]
            ).on_conflict_do_nothing(index_elements=["signature"])
            fresh = set((await s.execute(query.returning(SlackSeenRequest.signature))).scalars())
            if self._purged is None or now - self._purged > PURGE_EVERY:
                self._purged = now
                await s.execute(delete(SlackSeenRequest).where(SlackSeenRequest.seen_at < now - KEEP))
                self._recent = {k: at for k, at in self._recent.items() if at >= now - KEEP}
        return fresh

    async def flush(self) -> None:
        """Wait for the writes under way (tests; shutdown)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
