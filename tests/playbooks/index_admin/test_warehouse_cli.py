"""The warehouse backend from the command line: a database it cannot use is one clear
message and exit 2 (no traceback, no empty SQLite file left behind); against Warehouse's
real schema the new commands (quarantine --version, unquarantine, remove-malware) work,
and the old name release-quarantine still does (hidden)."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest

from tests.support import REPO
from tests.support.cli import warden
from tests.support.dists import release_files
from tests.support.warehouse_db import Seeder, dsn

pytestmark = [pytest.mark.service, pytest.mark.slow]


def env_for(warehouse_url: str, store_url: str, files: Path) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")},
            "PYTHONPATH": str(REPO), "WARDEN_STORE_URL": store_url,
            "WARDEN_CRITICAL_TOP": "0", "WARDEN_ACCESS_ADMINS": "alice,bob",
            "WARDEN_NOTIFY_CONSOLE": "false", "WARDEN_PLAYBOOKS_WAREHOUSE_URL": warehouse_url,
            "WARDEN_STORAGE_ROOT": str(files), "COLUMNS": "400"}


async def _refused(env: dict[str, str], cwd: Path) -> str:
    code, out, err = await warden(env, cwd, "yank", "x", "1.0", "--reason", "r", "--dry-run",
                                  "--actor", "alice")
    assert code == 2, (out, err)
    assert "Traceback" not in err and out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


async def test_a_database_it_cannot_use_is_one_message_and_exit_2(
        warehouse_url: str, pg_url: str, sqlite_url: str, tmp_path: Path) -> None:
    files = tmp_path / "files"
    missing = tmp_path / "no-such-warehouse.sqlite"
    server = warehouse_url.rsplit("/", 1)[0]
    cases = {
        f"sqlite+aiosqlite:///{missing}": f"there is no Warehouse database file at {missing}",
        "not a database url": "playbooks.warehouse_url is not a database URL",
        f"{server}/warden_no_such_db": 'database "warden_no_such_db" does not exist',
        "postgresql+asyncpg://nobody:s3cret@127.0.0.1:1/x": "cannot open the Warehouse "
                                                            "database",
        # The bot's own store is a database, but not Warehouse's.
        pg_url: "is not a Warehouse database index-warden can use: it has no table",
        sqlite_url: "is not a Warehouse database index-warden can use",
    }
    for url, expected in cases.items():
        line = await _refused(env_for(url, sqlite_url, files), tmp_path)
        assert expected in line, (url, line)
        assert "s3cret" not in line  # passwords are never shown
    assert not missing.exists()  # connecting did not create an empty file

    conn = await asyncpg.connect(dsn(warehouse_url))
    await conn.execute("DROP TABLE prohibited_email_domains")
    await conn.close()
    line = await _refused(env_for(warehouse_url, sqlite_url, files), tmp_path)
    assert line.endswith("it has no table prohibited_email_domains"), line


async def test_release_quarantine_and_remove_malware_commands(
        warehouse_url: str, sqlite_url: str, tmp_path: Path) -> None:
    files = tmp_path / "files"
    conn = await asyncpg.connect(dsn(warehouse_url))
    seed = Seeder(conn, files)
    await seed.user("admin")
    await seed.user("mallory", ("mallory@evil.example", True))
    await seed.project("evil-pkg", "mallory")
    for version in ("1.0", "2.0"):
        await seed.release("evil-pkg", version, "mallory", release_files("evil-pkg", version))
    env = env_for(warehouse_url, sqlite_url, files)

    async def status(version: str) -> str | None:
        value = await conn.fetchval("SELECT lifecycle_status FROM releases WHERE version = $1",
                                    version)
        return None if value is None else str(value)

    try:
        code, out, err = await warden(env, tmp_path, "quarantine", "evil-pkg", "--version", "2.0",
                                      "--yes", "--actor", "alice")
        assert code == 0 and "awaits approval" in out, err
        code, out, err = await warden(env, tmp_path, "playbook", "approve", "1", "--actor", "bob",
                                      "--yes")
        assert code == 0, err
        assert (await status("2.0"), await status("1.0")) == ("quarantine-enter", None)

        code, out, err = await warden(env, tmp_path, "release-quarantine", "evil-pkg",
                                      "--version", "2.0", "--yes", "--actor", "alice")
        assert code == 0, err  # the old name: now unquarantine, which needs no approval
        assert await status("2.0") == "quarantine-exit"
        code, out, _ = await warden(env, tmp_path, "--help")
        assert "unquarantine" in out and "release-quarantine" not in out
        assert "remove-malware" in out

        code, out, err = await warden(env, tmp_path, "remove-malware", "evil-pkg", "--dry-run",
                                      "--actor", "alice", "--reason", "confirmed")
        assert code == 0, err
        assert "freeze account mallory" in out and "prohibit the project name evil-pkg" in out
        assert "remove project evil-pkg with its 2 release(s) and 4 file(s)" in out
        code, _, err = await warden(env, tmp_path, "remove-malware", "evil-pkg", "--dry-run",
                                    "--actor", "alice")
        assert code == 2 and "--reason" in err  # a reason is required
    finally:
        await conn.close()
