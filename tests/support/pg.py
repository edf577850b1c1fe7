"""PostgreSQL for the tests: on loopback with trust auth (see .ci/run); each test gets its
own database, cloned from a template built once per session."""

from __future__ import annotations

import os

import asyncpg

PG_SERVER = os.environ.get("WARDEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


async def pg_admin(sql: str) -> None:
    """Run one statement as the server's admin (CREATE / DROP DATABASE)."""
    conn = await asyncpg.connect(f"{PG_SERVER}/test")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def asyncpg_url(database: str) -> str:
    """The SQLAlchemy (asyncpg) URL of `database` on the test server."""
    return PG_SERVER.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{database}"
