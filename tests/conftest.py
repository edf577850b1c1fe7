"""Shared fixtures: a fresh store per test on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.store.migrate import upgrade

pytest_plugins = ["tests.support.indexdouble", "tests.support.playbooks"]

# PostgreSQL runs on loopback with trust auth (see .ci/run); each test gets its own
# database cloned from a migrated template, so tests can't see each other's rows.
PG_SERVER = os.environ.get("WARDEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG_SERVER}/test")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"warden_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(_pg_url(name))
        yield name
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _pg_url(database: str) -> str:
    return PG_SERVER.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{database}"


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database of its own."""
    name = f"warden_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    try:
        yield _pg_url(name)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty store: SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'warden.db'}"
        upgrade(url)
        return url
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'warden.db'}"
    upgrade(url)
    return url


@pytest.fixture
async def no_env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Tests build settings explicitly; stray WARDEN_* variables must not leak in."""
    for key in list(os.environ):
        if key.upper().startswith(("WARDEN_", "SLACK_")):
            monkeypatch.delenv(key)
    yield
