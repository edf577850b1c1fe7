"""Open a Warehouse database, or say in one sentence why it cannot be used.

Checked before any playbook plans against it: the URL parses, a SQLite file exists
(connecting would otherwise create an empty one), the server answers, and every table
and column the backend uses (bot.store.warehouse) is there. Anything else is a
:class:`WarehouseUnavailable` whose message names the URL (password hidden) and the
problem; the CLI prints it and exits 2.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import warehouse as ws
from bot.store.connect import one_line
from bot.store.db import create_engine

__all__ = ["CONNECT_TIMEOUT", "WarehouseUnavailable", "missing_structure", "open_engine"]

CONNECT_TIMEOUT = 15.0  # seconds for the first connection and the structure check
_OPTION = "playbooks.warehouse_url"


class WarehouseUnavailable(Exception):
    """The configured Warehouse database cannot be used; ``str()`` says why."""


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise WarehouseUnavailable(f"{_OPTION} is not a database URL") from None


def missing_structure(inspector: sa.Inspector) -> list[str]:
    """Tables (and columns of present tables) the backend uses that the database lacks."""
    tables = set(inspector.get_table_names())
    missing: list[str] = []
    for table in ws.metadata.sorted_tables:
        if table.name not in tables:
            missing.append(f"table {table.name}")
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"column {table.name}.{c.name}" for c in table.columns
                    if c.name not in present]
    return missing


async def open_engine(url: str) -> AsyncEngine:
    """An engine on ``url`` after checking that it is a usable Warehouse database."""
    parsed = _parse(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database or ""
        # Checked before connecting: connecting would create an empty file there.
        if db in ("", ":memory:") or not await asyncio.to_thread(Path(db).is_file):
            raise WarehouseUnavailable(f"there is no Warehouse database file at "
                                       f"{db or '(no path)'} ({_OPTION})")
    try:
        engine = create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise WarehouseUnavailable(f"{_OPTION} ({shown}) cannot be used: {one_line(exc)}"
                                   ) from None
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT), engine.connect() as c:
            missing = await c.run_sync(lambda sync: missing_structure(sa.inspect(sync)))
    except (sa.exc.SQLAlchemyError, OSError, TimeoutError) as exc:
        await engine.dispose()
        why = "no answer in time" if isinstance(exc, TimeoutError) else one_line(exc)
        raise WarehouseUnavailable(f"cannot open the Warehouse database {shown} "
                                   f"({_OPTION}): {why}") from None
    if missing:
        await engine.dispose()
        listed = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more"
                                           if len(missing) > 5 else "")
        raise WarehouseUnavailable(f"{shown} ({_OPTION}) is not a Warehouse database index-warden "
                                   f"can use: it has no {listed}")
    return engine
