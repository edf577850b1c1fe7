"""An internal package removed from a real devpi-server: the devpi feed raises the
critical deletion incident (restore offered, nothing devpi cannot do), `restore` brings
every file back from the copies the feed kept, through devpi's upload API, digests
checked; the feed then sees the re-upload with the same digests. A copy that no longer
matches refuses the plan."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.actions import Actions, PlanRefused
from bot.store.db import create_engine, session_factory
from bot.store.devpi_models import DevpiEvent, DevpiFile
from bot.store.models import Incident
from bot.store.playbook_models import RunStatus
from detectors.confusion.internal import InternalDeletionDetector
from playbooks.base import Target
from playbooks.index_admin.devpi import DevpiAdmin
from playbooks.index_admin.devpi_local import LocalDevpi
from playbooks.settings import PlaybooksSection
from playbooks.storage.filesystem import FilesystemStorage
from playbooks.wiring import Backends
from tests.bot.feed.test_devpi_feed import make_sync
from tests.support.devpi_primary import upload

pytestmark = pytest.mark.slow


async def removed_and_followed(server: LocalDevpi, key: bytes, url: str, blobs: Path
                               ) -> dict[str, bytes]:
    server.new_user("acme", "acme-pw", "ci@acme.example")
    server.new_index("acme", "internal", uploaders=["acme"])
    kept = dict([await upload(server, "acme/internal", "acme", "acme-pw", "acme-utils", v, 300)
                 for v in ("1.0", "1.1")])
    sync, client = make_sync(server, key, url, blobs, ("acme/internal",),
                             [InternalDeletionDetector(["acme/internal"])])
    async with client:
        await sync.sync()
        admin = await DevpiAdmin.open(server.url, "acme/internal", "acme", "acme-pw")
        try:
            assert await admin.remove_project("acme-utils")
        finally:
            await admin.close()
        await sync.sync()
    return kept


def actions_for(server: LocalDevpi, url: str, blobs: Path, admin: DevpiAdmin) -> Actions:
    return Actions(session_factory(create_engine(url)), Backends(admin, FilesystemStorage(blobs)),
                   PlaybooksSection(backend="devpi"), ["alice", "bob"])


async def test_removal_is_critical_and_restore_brings_back_the_same_bytes(
        devpi_primary: tuple[LocalDevpi, bytes], sqlite_url: str, tmp_path: Path) -> None:
    server, key = devpi_primary
    blobs = tmp_path / "blobs"
    kept = await removed_and_followed(server, key, sqlite_url, blobs)
    async with session_factory(create_engine(sqlite_url))() as session:
        incident = (await session.execute(select(Incident))).scalar_one()
    assert (incident.detector, incident.kind, incident.severity, incident.subject) == (
        "internal", "project-removed", "critical", "project:acme-utils")
    assert list(incident.playbooks) == ["restore"]
    assert "acme/internal" in incident.summary and "2 file(s), 2 kept" in incident.summary

    admin = await DevpiAdmin.open(server.url, "acme/internal", "acme", "acme-pw")
    actions = actions_for(server, sqlite_url, blobs, admin)
    try:
        run = await actions.request_for_incident("alice", incident.id, "restore")
        assert sorted(s.action for s in run.steps) == ["add-file", "add-file",
                                                       "create-release", "create-release"]
        await actions.approve(run.id, "bob")
        done = await actions.run(run.id, "bob")
        assert done.status == RunStatus.DONE and done.verified, (done.error,
                                                                 done.verification)
        for filename, data in kept.items():
            version = filename.split("-")[1]
            served = await admin.fetch_file("acme-utils", version, filename)
            assert served is not None
            assert hashlib.sha256(served).hexdigest() == hashlib.sha256(data).hexdigest()
    finally:
        await admin.close()

    sync, client = make_sync(server, key, sqlite_url, blobs, ("acme/internal",))
    async with client:
        await sync.sync()
    async with session_factory(create_engine(sqlite_url))() as session:
        last = list((await session.execute(
            select(DevpiEvent).where(DevpiEvent.kind == "add_file").order_by(DevpiEvent.id)
        )).scalars())[-2:]
        files = list((await session.execute(select(DevpiFile))).scalars())
    assert {(e.filename, e.sha256) for e in last} == {
        (n, hashlib.sha256(d).hexdigest()) for n, d in kept.items()}
    assert all(f.removed_at is None for f in files)


async def test_a_copy_that_no_longer_matches_refuses_the_restore(
        devpi_primary: tuple[LocalDevpi, bytes], sqlite_url: str, tmp_path: Path) -> None:
    server, key = devpi_primary
    blobs = tmp_path / "blobs"
    await removed_and_followed(server, key, sqlite_url, blobs)
    async with session_factory(create_engine(sqlite_url))() as session:
        victim = (await session.execute(select(DevpiFile).limit(1))).scalar_one()
    path = blobs / str(victim.blob_path)
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    admin = await DevpiAdmin.open(server.url, "acme/internal", "acme", "acme-pw")
    actions = actions_for(server, sqlite_url, blobs, admin)
    try:
        with pytest.raises(PlanRefused) as refused:
            await actions.request("alice", "restore", Target(project="acme-utils"),
                                  reason="drill")
        assert victim.filename in str(refused.value) and "sha256" in str(refused.value)
        assert await admin.project("acme-utils") is None
    finally:
        await admin.close()
