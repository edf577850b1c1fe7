"""The devpi feed against a real devpi-server (primary role) on loopback: uploads,
removals, re-uploads and ACL changes become events with digests, files are kept in
storage with their digests, and following survives a restart of devpi."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import load_settings
from bot.events import EventKind
from bot.feed.client import IndexClient, RetryPolicy
from bot.feed.devpi import DevpiFeed
from bot.feed.devpi_open import devpi_pass
from bot.feed.devpi_sync import DevpiSync, ServerChanged
from bot.store.db import create_engine, session_factory
from bot.store.devpi_models import DevpiEvent, DevpiFile, DevpiIndex
from bot.store.models import FeedCursor
from detectors.base import Detector
from playbooks.index_admin.devpi import DevpiAdmin
from playbooks.index_admin.devpi_local import LocalDevpi, start_local_devpi
from playbooks.storage.filesystem import FilesystemStorage
from tests.support.cli import warden
from tests.support.devpi_primary import ARGON2, upload

pytestmark = pytest.mark.slow
REPLICA = "0123456789abcdef0123456789abcdef"


def make_sync(server: LocalDevpi, key: bytes, url: str, root: Path,
              indexes: tuple[str, ...] = ("alice/internal",),
              detectors: Sequence[Detector] = ()) -> tuple[DevpiSync, IndexClient]:
    client = IndexClient(server.url, retry=RetryPolicy(max_retries=2, backoff_seconds=0.05,
                                                      deadline_seconds=30))
    engine = create_engine(url)
    sync = DevpiSync(DevpiFeed(client, key, REPLICA), session_factory(engine),
                     FilesystemStorage(root), indexes=indexes, url=server.url,
                     detectors=detectors)
    return sync, client


async def events(url: str) -> list[DevpiEvent]:
    async with session_factory(create_engine(url))() as session:
        return list((await session.execute(select(DevpiEvent).order_by(DevpiEvent.id))
                     ).scalars())


async def test_upload_remove_reupload_and_acl_are_events_with_digests(
        devpi_primary: tuple[LocalDevpi, bytes], store_url: str, tmp_path: Path) -> None:
    server, key = devpi_primary
    server.new_user("alice", "alice-pw", "alice@corp.example")
    server.new_index("alice", "internal", uploaders=["alice"])
    server.new_index("alice", "scratch", uploaders=["alice"])  # not followed
    sync, client = make_sync(server, key, store_url, tmp_path / "blobs")
    async with client:
        filename, data = await upload(server, "alice/internal", "alice", "alice-pw",
                                      "acme-utils", "1.0")
        await upload(server, "alice/scratch", "alice", "alice-pw", "scratch-only", "0.1")
        first = await sync.sync()
        sha = hashlib.sha256(data).hexdigest()
        b2 = hashlib.blake2b(data, digest_size=32).hexdigest()
        got = await events(store_url)
        kinds = [(e.kind, e.project) for e in got if e.index == "alice/internal"]
        assert ("create", "acme-utils") in kinds and ("new_release", "acme-utils") in kinds
        added = [e for e in got if e.kind == "add_file"]
        assert [(a.filename, a.sha256, a.user) for a in added] == [(filename, sha, "alice")]
        assert not [e for e in got if "scratch" in e.project or e.index == "alice/scratch"]
        stored = tmp_path / "blobs" / "packages" / b2[:2] / b2[2:4] / b2[4:] / filename
        assert stored.read_bytes() == data
        assert first.stored_files == 1 and first.cursor == first.head

        admin = await DevpiAdmin.open(server.url, "alice/internal", "alice", "alice-pw")
        try:
            assert await admin.remove_project("acme-utils")
        finally:
            await admin.close()
        server.call("PATCH", "/alice/internal", ["acl_upload+=mallory"])
        await sync.sync()
        again = await upload(server, "alice/internal", "alice", "alice-pw", "acme-utils", "1.0")
        assert again[1] == data
        await sync.sync()

    got = await events(store_url)
    tail = [(e.kind, e.filename, e.sha256, e.user) for e in got[len(kinds) + 1:]
            if e.index == "alice/internal"]
    assert ("remove_project", None, None, None) in tail
    assert ("role_add", None, None, "mallory") in tail
    assert tail[-1] == ("add_file", filename, sha, "alice")
    assert tail.index(("remove_project", None, None, None)) < len(tail) - 1
    async with session_factory(create_engine(store_url))() as session:
        files = list((await session.execute(select(DevpiFile))).scalars())
        index = await session.get(DevpiIndex, "alice/internal")
        cursor = await session.get(FeedCursor, "devpi")
    assert [(f.filename, f.sha256, f.blake2b_256, f.size, f.removed_at) for f in files] == [
        (filename, sha, b2, len(data), None)]
    assert index is not None and index.acl_upload == ["alice", "mallory"]
    assert cursor is not None and cursor.serial == sync_head(got)


def sync_head(got: list[DevpiEvent]) -> int:
    return max(e.serial for e in got)


async def test_following_survives_a_devpi_restart(
        devpi_primary: tuple[LocalDevpi, bytes], sqlite_url: str, tmp_path: Path) -> None:
    server, key = devpi_primary
    server.new_user("alice", "alice-pw", "alice@corp.example")
    server.new_index("alice", "internal", uploaders=["alice"])
    sync, client = make_sync(server, key, sqlite_url, tmp_path / "blobs")
    async with client:
        await upload(server, "alice/internal", "alice", "alice-pw", "before-restart", "1.0")
        before = await sync.sync()
        server.restart()
        await upload(server, "alice/internal", "alice", "alice-pw", "after-restart", "2.0")
        after = await sync.sync()
    assert after.cursor == after.head > before.cursor
    got = await events(sqlite_url)
    files = [e.filename for e in got if e.kind == EventKind.ADD_FILE.value]
    assert files == ["before_restart-1.0-py3-none-any.whl", "after_restart-2.0-py3-none-any.whl"]
    serials = [e.serial for e in got]
    assert serials == sorted(serials)


async def test_the_service_pass_follows_and_outlives_a_primary_that_is_down(
        devpi_primary: tuple[LocalDevpi, bytes], sqlite_url: str, tmp_path: Path) -> None:
    server, key = devpi_primary
    server.new_user("alice", "alice-pw", "alice@corp.example")
    server.new_index("alice", "internal", uploaders=["alice"])
    await upload(server, "alice/internal", "alice", "alice-pw", "acme-utils", "1.0")
    settings = load_settings(
        store={"url": sqlite_url}, notify={"console": False},
        index={"max_retries": 1, "backoff_seconds": 0.05, "timeout_seconds": 5},
        storage={"kind": "filesystem", "root": str(tmp_path / "blobs")},
        devpi={"url": server.url, "indexes": ["alice/internal"], "replica_key": key.hex()})
    sessions = session_factory(create_engine(sqlite_url))
    delivered: list[int] = []

    async def deliver() -> int:
        delivered.append(1)
        return 0

    stop = asyncio.Event()
    assert await devpi_pass(settings, sessions, [], deliver, stop) >= 3
    server.stop()
    assert await devpi_pass(settings, sessions, [], deliver, stop) == 0  # logged, not raised
    async with sessions() as session:
        cursor = await session.get(FeedCursor, "devpi")
    assert cursor is not None and cursor.serial >= 0


async def test_another_devpi_behind_the_url_is_refused_not_followed(
        devpi_primary: tuple[LocalDevpi, bytes], sqlite_url: str, tmp_path: Path) -> None:
    server, key = devpi_primary
    server.new_user("alice", "alice-pw", "alice@corp.example")
    server.new_index("alice", "internal", uploaders=["alice"])
    sync, client = make_sync(server, key, sqlite_url, tmp_path / "blobs")
    async with client:
        first = await sync.sync()
    # A re-initialised devpi with the same secret (so the same replica key) is another
    # server: its serials mean other changes.
    other = start_local_devpi(tmp_path / "other", extra_args=("--role", "primary", *ARGON2))
    try:
        shutil.copy(Path(server.argv[server.argv.index("--secretfile") + 1]),
                    Path(other.argv[other.argv.index("--secretfile") + 1]))
        other.restart()
        sync, client = make_sync(other, key, sqlite_url, tmp_path / "blobs")
        async with client:
            with pytest.raises(ServerChanged):
                await sync.sync()
    finally:
        other.stop()
    async with session_factory(create_engine(sqlite_url))() as session:
        cursor = await session.get(FeedCursor, "devpi")
    assert cursor is not None and cursor.serial == first.cursor


async def test_warden_devpi_sync_as_an_admin_runs_it(
        devpi_primary: tuple[LocalDevpi, bytes], sqlite_url: str, tmp_path: Path) -> None:
    server, key = devpi_primary
    server.new_user("alice", "alice-pw", "alice@corp.example")
    server.new_index("alice", "internal", uploaders=["alice"])
    await upload(server, "alice/internal", "alice", "alice-pw", "acme-utils", "1.0")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARDEN_", "SLACK_"))}
    env |= {"WARDEN_STORE_URL": sqlite_url, "WARDEN_DEVPI_URL": server.url,
            "WARDEN_DEVPI_INDEXES": "alice/internal", "WARDEN_NOTIFY_CONSOLE": "false",
            "WARDEN_STORAGE_ROOT": str(tmp_path / "blobs")}
    code, _, err = await warden(env, tmp_path, "devpi", "sync")
    assert code == 2 and "WARDEN_DEVPI_REPLICA_KEY" in err
    env["WARDEN_DEVPI_REPLICA_KEY"] = key.hex()
    code, out, err = await warden(env, tmp_path, "devpi", "sync", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["stored_files"] == 1 and summary["cursor"] == summary["head"]
    assert summary["by_kind"]["add_file"] == 1 and summary["by_kind"]["create"] == 1
    env["WARDEN_DEVPI_REPLICA_KEY"] = "00" * 16  # not devpi's key: devpi says 403
    code, _, err = await warden(env, tmp_path, "devpi", "sync")
    assert code == 1 and "403" in err and "--role primary" in err
