"""Who runs the feed and the schedule: exactly one process per store.

PostgreSQL: a session-level advisory lock held on a dedicated connection; when the
leader dies its connection closes and the lock is free for the next replica that
tries. SQLite: the store is single-process, so an exclusive file lock beside the
database refuses a second process with a clear message instead of two writers.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.db import is_sqlite

LOCK_KEY = 0x77617264656E  # "warden"


class SecondProcessOnSQLite(RuntimeError):
    pass


class LeaderLock(Protocol):
    async def try_acquire(self) -> bool: ...

    async def still_held(self) -> bool: ...

    async def release(self) -> None: ...


class PgAdvisoryLock:
    def __init__(self, engine: AsyncEngine, key: int = LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        if self._conn is None:
            self._conn = await self.engine.connect()
        got = (await self._conn.execute(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar_one()
        await self._conn.commit()  # the lock is session-level; end the read transaction
        return bool(got)

    async def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            held = (await self._conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND objid = :lo AND classid = :hi"),
                {"lo": self.key & 0xFFFFFFFF, "hi": self.key >> 32})).scalar_one()
            await self._conn.commit()
        except Exception:  # the connection is gone, and with it the lock
            await self._drop()
            return False
        return bool(held)

    async def release(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                await self._conn.commit()
            finally:
                await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken: nothing left to release
                await conn.close()


class SQLiteFileLock:
    def __init__(self, url: str) -> None:
        database = make_url(url).database or ""
        self.path = Path(f"{database}.lock") if database else None
        self._fh: IO[str] | None = None

    async def try_acquire(self) -> bool:
        if self.path is None:  # in-memory database: nothing to share
            return True
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise SecondProcessOnSQLite(
                f"another warden process is using {self.path.with_suffix('')}: the SQLite store "
                "is single-process; run several replicas on PostgreSQL (store.url)") from None
        fh.truncate(0)
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return True

    async def still_held(self) -> bool:
        return self._fh is not None or self.path is None

    async def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def leader_lock(engine: AsyncEngine, url: str) -> LeaderLock:
    return SQLiteFileLock(url) if is_sqlite(url) else PgAdvisoryLock(engine)
