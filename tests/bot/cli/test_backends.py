"""Broken backends from the command line (issue 17, item 4): the store at a wrong URL or
down, devpi down, devpi with a wrong password, a devpi index that does not exist. Each is
one message naming the setting to check, exit code 2, no traceback, nothing left behind.
(Warehouse's database: tests/playbooks/index_admin/test_warehouse_cli.py.)"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store.db import create_engine
from playbooks.index_admin.devpi_local import LocalDevpi
from tests.support import REPO
from tests.support.cli import warden

pytestmark = [pytest.mark.service, pytest.mark.slow]


def _env(store_url: str, **extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")},
            "PYTHONPATH": str(REPO), "WARDEN_STORE_URL": store_url,
            "WARDEN_CRITICAL_TOP": "0", "WARDEN_ACCESS_ADMINS": "alice,bob",
            "WARDEN_NOTIFY_CONSOLE": "false", "COLUMNS": "400", **extra}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


async def _one_error(env: dict[str, str], cwd: Path, *args: str) -> str:
    code, out, err = await warden(env, cwd, *args)
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and out == "", err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


async def test_store_it_cannot_open(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    sqlite = f"sqlite+aiosqlite:///{missing}/warden.db"
    down = f"postgresql+asyncpg://warden:s3cret@127.0.0.1:{_closed_port()}/warden"
    for args in (("incidents", "list"), ("feed", "sync", "--until-serial", "1"),
                 ("db", "upgrade")):
        line = await _one_error(_env(sqlite), tmp_path, *args)
        assert f"there is no directory {missing}" in line, line
        assert "store.url / WARDEN_STORE_URL" in line
        line = await _one_error(_env(down), tmp_path, *args)
        assert line.startswith("error: cannot open the store postgresql+asyncpg://warden:***@"), \
            line
        assert "(store.url / WARDEN_STORE_URL)" in line and "s3cret" not in line
    assert not missing.exists()


async def test_store_with_a_missing_table(pg_url: str, sqlite_url: str, tmp_path: Path) -> None:
    """A store marked current that lacks a table (dropped by hand, or another database
    behind the URL) is one message, not a traceback at the first query."""
    for url, drop in ((pg_url, "DROP TABLE incidents CASCADE"), (sqlite_url, "DROP TABLE incidents")):
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(sa.text(drop))
        await engine.dispose()
        line = await _one_error(_env(url), tmp_path, "incidents", "list")
        assert "lacks table(s) incidents" in line and "store.url / WARDEN_STORE_URL" in line


async def test_store_migrated_by_a_newer_version(sqlite_url: str, tmp_path: Path) -> None:
    """A store carrying a revision this code has no migration for (an older warden run
    after a newer one) is one message, not Alembic's traceback."""
    engine = create_engine(sqlite_url)
    async with engine.begin() as conn:
        await conn.execute(sa.text("INSERT INTO alembic_version VALUES ('0099_future')"))
    await engine.dispose()
    for args in (("incidents", "list"), ("feed", "sync", "--until-serial", "1")):
        line = await _one_error(_env(sqlite_url), tmp_path, *args)
        assert "migrated by a newer index-warden" in line and "0099_future" in line, line


def _devpi_env(sqlite_url: str, url: str, index: str, password: str, files: Path
               ) -> dict[str, str]:
    return _env(sqlite_url, WARDEN_PLAYBOOKS_BACKEND="devpi", WARDEN_PLAYBOOKS_DEVPI_URL=url,
                WARDEN_PLAYBOOKS_DEVPI_INDEX=index, WARDEN_PLAYBOOKS_DEVPI_PASSWORD=password,
                WARDEN_STORAGE_ROOT=str(files))


async def test_devpi_it_cannot_use(devpi: LocalDevpi, sqlite_url: str, tmp_path: Path) -> None:
    devpi.new_user("alice", "alice-pw", "alice@example.org")
    index = devpi.new_index("alice", f"prod{uuid.uuid4().hex[:6]}", uploaders=["alice"])
    files = tmp_path / "files"
    restore = ("restore", "some-project", "--dry-run", "--actor", "alice")
    cases = {
        "wrong password": (
            _devpi_env(sqlite_url, devpi.url, index, "not-the-password", files),
            ["devpi login as 'root' failed: 401",
             "check playbooks.devpi_user and WARDEN_PLAYBOOKS_DEVPI_PASSWORD"]),
        "server down": (
            _devpi_env(sqlite_url, f"http://127.0.0.1:{_closed_port()}", index,
                       devpi.root_password, files),
            ["cannot reach devpi-server at http://127.0.0.1:", "(playbooks.devpi_url)"]),
        "no such index": (
            _devpi_env(sqlite_url, devpi.url, "alice/nope", devpi.root_password, files),
            ["has no index 'alice/nope' (playbooks.devpi_index)"]),
    }
    for name, (env, expected) in cases.items():
        line = await _one_error(env, tmp_path, *restore)
        assert all(e in line for e in expected), (name, line)
        assert devpi.root_password not in line and "not-the-password" not in line
    # Nothing left behind: no run was stored, and the storage directory was not made.
    url = sqlite_url.replace("+aiosqlite", "")
    with sa.create_engine(url).connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM playbook_runs")).scalar() == 0
    assert not files.exists()
    # The same settings with the right password do plan (the project is not in the ledger).
    code, out, err = await warden(
        _devpi_env(sqlite_url, devpi.url, index, devpi.root_password, files), tmp_path,
        *restore)
    assert code == 1 and "the ledger has no record of project some-project" in out + err, err
