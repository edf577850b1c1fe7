"""The devpi backend against a real devpi-server (offline, no root/pypi, loopback only)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.actions import Actions, PlanRefused
from bot.store.db import create_engine, session_factory
from bot.store.playbook_models import RunStatus
from playbooks.base import Target
from playbooks.index_admin.devpi import DevpiAdmin
from playbooks.index_admin.devpi_local import LocalDevpi
from playbooks.settings import PlaybooksSection
from playbooks.storage.filesystem import FilesystemStorage
from playbooks.wiring import Backends
from tests.support.world import PROJECT, World

pytestmark = [pytest.mark.service, pytest.mark.slow]


async def upload_as(devpi: LocalDevpi, user: str, password: str, index: str, version: str,
                    filename: str, data: bytes) -> None:
    """What a maintainer's upload tool sends: devpi's login, then a multipart upload."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{devpi.url}/+login", json={"user": user, "password": password},
                             headers={"Accept": "application/json"}) as resp:
            token = (await resp.json())["result"]["password"]
        form = aiohttp.FormData()
        for key, value in ((":action", "file_upload"), ("name", PROJECT), ("version", version)):
            form.add_field(key, value)
        form.add_field("content", data, filename=filename)
        auth = base64.b64encode(f"{user}:{token}".encode()).decode()
        async with http.post(f"{devpi.url}/{index}/", data=form,
                             headers={"X-Devpi-Auth": auth}) as resp:
            assert resp.status == 200, await resp.text()


async def pip_download(index_url: str, requirement: str, dest: Path, binary: bool) -> Path:
    """pip, isolated from any configured index, fetching one file from ``index_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    kind = ["--only-binary", ":all:"] if binary else ["--no-binary", ":all:",
                                                      "--no-build-isolation"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pip", "download", "--isolated", "--no-deps", "--no-cache-dir",
        "--disable-pip-version-check", "--index-url", index_url, "--dest", str(dest), *kind,
        requirement, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()[-3000:]
    return dest


@pytest.fixture
async def devpi_actions(devpi: LocalDevpi, world: World, sqlite_url: str
                        ) -> AsyncIterator[tuple[Actions, str]]:
    """Actions on a fresh devpi index owned by alice; the bot logs in as root."""
    devpi.new_user("alice", "alice-pw", "alice@example.org")
    index = devpi.new_index("alice", f"prod{uuid.uuid4().hex[:6]}", uploaders=["alice", "root"])
    engine = create_engine(sqlite_url)
    admin = await DevpiAdmin.open(devpi.url, index, "root", devpi.root_password)
    storage = FilesystemStorage(world.files_dir)
    actions = Actions(session_factory(engine), Backends(admin, storage),
                      PlaybooksSection(two_admin_approval=False, backend="devpi"),
                      ["alice", "bob"])
    yield actions, index
    await actions.backends.close()
    await engine.dispose()


async def test_delete_then_restore_every_file_with_the_same_digest(
        devpi: LocalDevpi, world: World, devpi_actions: tuple[Actions, str], tmp_path: Path) -> None:
    actions, index = devpi_actions
    by_version = {v: [(n, d) for n, d in world.files.items() if f"-{v}" in n]
                  for v in world.versions}
    for version, dists in by_version.items():
        for filename, data in dists:
            await upload_as(devpi, "alice", "alice-pw", index, version, filename, data)
    admin = actions.backends.admin
    assert isinstance(admin, DevpiAdmin)
    assert await admin.remove_project(PROJECT)
    assert await admin.project(PROJECT) is None

    run = await actions.request("alice", "restore", Target(project=PROJECT), reason="drill")
    assert [s.action for s in run.steps].count("add-file") == len(world.files)
    done = await actions.run(run.id, "bob")
    assert done.status == RunStatus.DONE and done.verified, (done.error, done.verification)

    simple = f"{devpi.url}/{index}/+simple/"
    dest = tmp_path / "pip"
    await asyncio.gather(*(
        pip_download(simple, f"{PROJECT}=={v}", dest / f"{v}-{binary}", binary)
        for v in world.versions for binary in (True, False)))
    fetched = {p.name: p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    assert {n: hashlib.sha256(d).hexdigest() for n, d in fetched.items()} == {
        n: hashlib.sha256(d).hexdigest() for n, d in world.files.items()}

    again = await actions.request("alice", "restore", Target(project=PROJECT), reason="again")
    assert again.steps == () and "already on the index" in again.plan.text()


async def test_yank_is_refused_with_the_reason(devpi_actions: tuple[Actions, str]) -> None:
    actions, _ = devpi_actions
    with pytest.raises(PlanRefused, match="devpi-server 6 does not support yanking"):
        await actions.request("alice", "yank", Target(project=PROJECT, version="1.0"),
                              reason="malicious")
    with pytest.raises(PlanRefused, match="no project quarantine"):
        await actions.request("alice", "quarantine", Target(project=PROJECT), reason="r")


async def test_freeze_takes_the_user_out_of_acl_upload(
        devpi: LocalDevpi, devpi_actions: tuple[Actions, str]) -> None:
    actions, index = devpi_actions
    devpi.new_user("mallory", "mallory-pw", "mallory@expired.example")
    other = devpi.new_index("alice", f"team{uuid.uuid4().hex[:6]}",
                            uploaders=["alice", "mallory"])
    status, _ = devpi.call("PATCH", index, ["acl_upload+=mallory"])
    assert status == 200
    with pytest.raises(PlanRefused, match="keeps no verified flag"):
        await actions.request("alice", "freeze", Target(account="mallory"), reason="r",
                              options={"unverify_emails": True})
    run = await actions.request("alice", "freeze", Target(account="mallory"), reason="takeover")
    assert "partial" in run.plan.text()
    done = await actions.run(run.id, "alice")
    assert done.status == RunStatus.DONE and done.verified, done.error
    for name in (index, other):
        _, config = devpi.call("GET", name)
        assert "mallory" not in config["result"]["acl_upload"]
    assert "alice" in devpi.call("GET", other)[1]["result"]["acl_upload"]

    back = await actions.request("alice", "unfreeze", Target(account="mallory"), reason="ok")
    done = await actions.run(back.id, "alice")
    assert done.status == RunStatus.DONE and done.verified, done.error
    for name in (index, other):
        assert "mallory" in devpi.call("GET", name)[1]["result"]["acl_upload"]
