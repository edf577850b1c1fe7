"""Shared fixtures: a fresh store per test on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.store.migrate import upgrade
from tests.support.pg import asyncpg_url, database

pytest_plugins = ["tests.support.indexdouble", "tests.support.playbooks",
                  "tests.support.devpi_primary"]

@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    with database(f"warden_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}") as name:
        upgrade(asyncpg_url(name))
        yield name



@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database of its own."""
    with database(f"warden_t_{uuid.uuid4().hex[:12]}", template=pg_template) as name:
        yield asyncpg_url(name)


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
