"""Open the bot's own store, or say in one sentence why it cannot be used.

Checked before anything else runs on it: the URL parses, a SQLite file's directory
exists (connecting would otherwise fail deep in the driver, or create a file where the
admin did not mean one), and the server answers. Anything else is a
:class:`StoreUnavailable` whose message names the URL (password hidden), the setting to
check and the problem; the CLI prints it and exits 2.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import create_engine

__all__ = ["CONNECT_TIMEOUT", "StoreUnavailable", "check_store_url", "no_database_at", "one_line",
           "open_store"]

CONNECT_TIMEOUT = 15.0  # seconds for the first connection
SETTING = "store.url / WARDEN_STORE_URL"


class StoreUnavailable(Exception):
    """The configured store cannot be used; ``str()`` says why and what to check."""


def one_line(exc: BaseException) -> str:
    """A driver error as the admin needs it: one line, without SQLAlchemy's wrapping
    ("(module.Error) message [SQL: ...] (Background on this error at: ...)")."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = re.sub(r"^\([\w.]+\) ", "", text)
    return text.split(" (Background on this error")[0].split(" [SQL:")[0][:300]


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise StoreUnavailable(f"the store URL is not a database URL ({SETTING})") from None


def no_database_at(url: str) -> str | None:
    """Why ``url`` cannot lead to an existing database, when that is clear without
    connecting (it does not parse; a SQLite file that is not there, which connecting
    would create empty); None when it may."""
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return "not a database URL"
    db = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and (
            db in ("", ":memory:") or not Path(db).expanduser().is_file()):
        return f"there is no database file at {db or '(no path)'}"
    return None


def check_store_url(url: str) -> None:
    """What can be checked without connecting: the URL, and a SQLite file's directory."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return
    db = parsed.database or ""
    if db in ("", ":memory:") or db.startswith("file:"):
        return
    folder = Path(db).expanduser().absolute().parent
    if not folder.is_dir():
        raise StoreUnavailable(f"the store's SQLite file {db} cannot be created: there is no "
                               f"directory {folder} (create it, or check {SETTING})")


async def open_store(url: str, *, echo: bool = False) -> AsyncEngine:
    """An engine on ``url`` after one successful connection."""
    await asyncio.to_thread(check_store_url, url)
    shown = _parse(url).render_as_string(hide_password=True)
    try:
        engine = create_engine(url, echo=echo)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise StoreUnavailable(f"the store {shown} cannot be used ({SETTING}): "
                               f"{one_line(exc)}") from None
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT), engine.connect():
            pass
    except (sa.exc.SQLAlchemyError, OSError, TimeoutError) as exc:
        await engine.dispose()
        why = "no answer in time" if isinstance(exc, TimeoutError) else one_line(exc)
        raise StoreUnavailable(f"cannot open the store {shown} ({SETTING}): {why}") from None
    return engine
