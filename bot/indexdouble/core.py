"""Core of the index double's database: the engine, lookups and the journal writer.

``_journal`` is the one place journal rows are written; ``projects.last_serial``
follows by the SQLite copy of Warehouse's ``update_project_last_serial`` trigger.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from packaging.utils import canonicalize_version

from bot.names import canonicalize
from bot.store import warehouse as ws

__all__ = ["ADMIN", "StoreCore", "naive_utc", "new_id", "normalize_name"]

ADMIN = "admin"
ADMIN_SINCE = datetime(2015, 1, 1)  # older than anything a test or the demo creates


normalize_name = canonicalize  # PEP 503, as Warehouse's normalize_pep426_name


def naive_utc(at: datetime | None) -> datetime:
    # Warehouse stores naive UTC (timestamp without time zone).
    if at is None:
        return datetime.now(UTC).replace(tzinfo=None)
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


class StoreCore:
    """A Warehouse-shaped SQLite database (WAL mode) plus a blob directory."""

    def __init__(self, db_path: Path, files_dir: Path) -> None:
        self.db_path = Path(db_path)
        self.files_dir = Path(files_dir)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(f"sqlite:///{self.db_path}")
        sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        ws.metadata.create_all(self.engine)
        with self._tx() as c:
            # Every Warehouse database has the account its tasks act as (get_admin_user);
            # the warehouse backend records changes as it when the admin has none.
            if c.execute(sa.select(ws.users.c.id).where(ws.users.c.username == ADMIN)).first() \
                    is None:
                self._insert_user(c, ADMIN, ADMIN_SINCE)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- lookups -------------------------------------------------------------

    def _project(self, c: sa.Connection, name: str) -> sa.Row[Any]:
        p = ws.projects
        row = c.execute(sa.select(p).where(p.c.normalized_name == normalize_name(name))).first()
        if row is None:
            raise KeyError(f"no project {name!r}")
        return row

    def _release(self, c: sa.Connection, project_id: uuid.UUID, version: str) -> sa.Row[Any]:
        r = ws.releases
        rows = c.execute(
            sa.select(r).where(
                r.c.project_id == project_id,
                r.c.canonical_version == canonicalize_version(version),
            )
        ).all()
        exact = [row for row in rows if row.version == version]
        if exact or len(rows) == 1:
            return (exact or rows)[0]
        raise KeyError(f"no release {version!r}")

    def _user_id(self, c: sa.Connection, username: str, *, at: datetime | None = None) -> uuid.UUID:
        u = ws.users
        found = c.execute(sa.select(u.c.id).where(u.c.username == username)).scalar()
        return found if found is not None else self._insert_user(c, username, naive_utc(at))

    def _insert_user(self, c: sa.Connection, username: str, when: datetime) -> uuid.UUID:
        uid = uuid.uuid4()
        c.execute(sa.insert(ws.users).values(
            id=uid, username=username, name="", password="!", is_active=True,
            date_joined=when, password_date=when, last_login=when))
        self._user_event(c, uid, "account:create", when, None)
        return uid

    def _user_event(self, c: sa.Connection, uid: uuid.UUID, tag: str, when: datetime,
                    additional: dict[str, Any] | None) -> None:
        c.execute(sa.insert(ws.user_events).values(
            source_id=uid, tag=tag, time=when, additional=additional))

    def _journal(self, c: sa.Connection, name: str | None, version: str | None, action: str,
                 actor: str | None, when: datetime) -> int:
        # projects.last_serial follows by trigger, as in Warehouse.
        return new_id(c.execute(sa.insert(ws.journals).values(
            name=name, version=version, action=action, submitted_date=when,
            submitted_by=actor)))

    def add_journal(self, name: str | None, version: str | None, action: str,
                    at: datetime | None = None, actor: str | None = None) -> int:
        """A raw journal row (e.g. "docdestroy"), for actions the mutation API lacks."""
        with self._tx() as c:
            return self._journal(c, name, version, action, actor, naive_utc(at))

    def last_serial(self) -> int:
        """The newest journal id (0 when there is none; Warehouse would return None)."""
        with self.engine.connect() as c:
            return int(c.execute(sa.select(sa.func.max(ws.journals.c.id))).scalar() or 0)


def new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
