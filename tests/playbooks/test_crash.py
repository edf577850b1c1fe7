"""SIGKILL a restore mid-way, resume it: the index ends as after an uninterrupted run."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.indexdouble import IndexDoubleStore
from bot.store.db import create_engine, session_factory
from bot.store.models import AuditEntry
from bot.store.playbook_models import PlaybookRun, PlaybookStep, RunStatus
from playbooks.base import Target
from playbooks.settings import PlaybooksSection
from tests.support import REPO
from tests.support.indexdouble import IndexDouble
from tests.support.world import PROJECT, World, build_world, close_actions, index_rows, open_actions

pytestmark = [pytest.mark.service, pytest.mark.slow]


def copy_index(world: World, dest: Path) -> IndexDoubleStore:
    """An independent copy of the double's database and blobs, as they are now."""
    dest.mkdir()
    src = sqlite3.connect(world.double.store.db_path)
    dst = sqlite3.connect(dest / "index.sqlite")
    src.backup(dst)
    src.close()
    dst.close()
    shutil.copytree(world.files_dir, dest / "files")
    return IndexDoubleStore(dest / "index.sqlite", dest / "files")


async def cli(env: dict[str, str], cwd: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_sigkill_mid_restore_then_resume_equals_uninterrupted(
        index_double: IndexDouble, store_url: str, tmp_path: Path, no_env: None) -> None:
    world = await build_world(index_double, store_url,
                              versions=[f"1.{i}" for i in range(15)], size=20_000)
    twin = copy_index(world, tmp_path / "twin")

    env = {**os.environ, "PYTHONPATH": str(REPO), "WARDEN_STORE_URL": store_url,
           "WARDEN_INDEX_URL": world.double.url, "WARDEN_CRITICAL_TOP": "0",
           "WARDEN_ACCESS_ADMINS": "alice,bob", "WARDEN_NOTIFY_CONSOLE": "false",
           "WARDEN_PLAYBOOKS_WAREHOUSE_URL": world.db_url,
           "WARDEN_PLAYBOOKS_APPROVAL_WAIVED": "restore",
           "WARDEN_STORAGE_ROOT": str(world.files_dir), "WARDEN_LOG_LEVEL": "warning"}
    engine = create_engine(store_url)
    sessions = session_factory(engine)

    async def steps_done() -> tuple[int, int]:
        async with sessions() as s:
            states = (await s.execute(sa.select(PlaybookStep.state))).scalars().all()
        return sum(1 for x in states if x == "done"), len(states)

    try:
        proc = await cli(env, tmp_path, "restore", PROJECT, "--yes", "--actor", "alice",
                         "--json")
        while True:  # kill once a third of the steps landed: mid-way by construction
            done, total = await steps_done()
            if proc.returncode is not None or (total and done >= total // 3):
                break
            await asyncio.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        _, stderr = await proc.communicate()
        assert proc.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
        done, total = await steps_done()
        assert 0 < done < total == 46, (done, total)
        async with sessions() as s:
            run = (await s.execute(sa.select(PlaybookRun))).scalar_one()
        assert run.status == RunStatus.RUNNING and run.lease_owner is not None

        proc = await cli(env, tmp_path, "playbook", "resume", str(run.id), "--actor", "bob",
                         "--json")
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-3000:]
        resumed = json.loads(out)
        assert resumed["status"] == "done" and resumed["verified"] is True
        async with sessions() as s:
            actions = [a for (a,) in await s.execute(
                sa.select(AuditEntry.action).where(AuditEntry.outcome == "started"))]
        assert actions.count("playbook.run") == actions.count("playbook.resume") == 1

        # The same restore, uninterrupted, on the twin copy of the index.
        twin_world = World(IndexDouble(twin, world.double.server, world.double.url),
                           world.settings, world.files, world.versions)
        other, other_engine = open_actions(twin_world, store_url,
                                           config=PlaybooksSection(approval_waived=["restore"]))
        try:
            straight = await other.request("alice", "restore", Target(project=PROJECT),
                                           reason="r")
            assert (await other.run(straight.id, "alice")).status == RunStatus.DONE
        finally:
            await close_actions(other, other_engine)
        assert index_rows(world) == index_rows(twin_world)
        assert len(index_rows(world)["files"]) == 30

        # A finished playbook run again changes nothing.
        before = index_rows(world)
        proc = await cli(env, tmp_path, "playbook", "resume", str(run.id), "--actor", "alice",
                         "--json")
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-3000:]
        again = json.loads(out)
        assert again["status"] == "done" and index_rows(world) == before
        assert [s["attempts"] for s in again["steps"]] == [s["attempts"] for s in resumed["steps"]]
    finally:
        twin.close()
        await engine.dispose()
