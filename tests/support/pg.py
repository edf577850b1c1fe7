"""PostgreSQL for the tests: on loopback with trust auth (see .ci/run); each test gets its
own database, cloned from a template built once per session."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

PG_SERVER = os.environ.get("WARDEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


async def pg_admin(sql: str) -> None:
    """Run one statement as the server's admin (CREATE / DROP DATABASE)."""
    conn = await asyncpg.connect(f"{PG_SERVER}/test")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def database(name: str, template: str | None = None) -> Iterator[str]:
    """Database ``name`` on the test server (a clone of ``template`` when given) for the
    ``with`` block; dropped after it, even while connections to it are still open."""
    clone = f' TEMPLATE "{template}"' if template is not None else ""
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"{clone}'))
    try:
        yield name
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def asyncpg_url(database: str) -> str:
    """The SQLAlchemy (asyncpg) URL of `database` on the test server."""
    return PG_SERVER.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{database}"
