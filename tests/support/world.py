"""A removed critical project, end to end: index double → feed → ledger → incident.

``build_world`` uploads real wheels and sdists to the index double, lets the real feed
record them in the ledger, removes the project on the index (its blobs stay in the
double's files directory, as on PyPI) and syncs again, which opens the
``project-removed`` incident the restore answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.actions import Actions
from bot.config import Settings, load_settings
from bot.store import warehouse as ws
from bot.store.db import create_engine, session_factory
from bot.store.models import Incident
from bot.wiring import Warden
from playbooks.index_admin.warehouse import WarehouseAdmin
from playbooks.settings import PlaybooksSection
from playbooks.storage.base import BlobStorage
from playbooks.storage.filesystem import FilesystemStorage
from playbooks.wiring import Backends
from tests.support.dists import release_files
from tests.support.indexdouble import IndexDouble

ADMINS = ["alice", "bob"]
PROJECT = "atomic-writes-demo"
T0 = datetime(2022, 7, 1, tzinfo=UTC)


def settings_for(store_url: str, index_url: str, *projects: str) -> Settings:
    return load_settings(
        None, store={"url": store_url}, index={"url": index_url, "max_retries": 1},
        critical={"projects": list(projects) or [PROJECT], "top": "0"},
        access={"admins": ADMINS}, notify={"console": False}, feed={"start_serial": 0},
        log={"level": "warning"})


async def feed_sync(settings: Settings) -> None:
    warden = await Warden.open(settings)
    try:
        await warden.ensure_critical_set()
        await warden.feed.sync()
    finally:
        await warden.close()


@dataclass
class World:
    double: IndexDouble
    settings: Settings
    files: dict[str, bytes]  # filename -> content, as uploaded
    versions: list[str]

    @property
    def db_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.double.store.db_path}"

    @property
    def files_dir(self) -> Path:
        return Path(self.double.store.files_dir)

    def blob(self, filename: str) -> Path:
        data = self.files[filename]
        b2 = hashlib.blake2b(data, digest_size=32).hexdigest()
        return self.files_dir / "packages" / b2[:2] / b2[2:4] / b2[4:] / filename


async def build_world(double: IndexDouble, store_url: str, *, versions: Sequence[str] = (
        "1.0", "1.1", "2.0"), size: int = 2000) -> World:
    store = double.store
    store.add_user("alice", "alice@example.org", at=T0)
    store.add_user("mallory", "mallory@example.org", at=T0)
    store.create_project(PROJECT, "mallory", at=T0)
    files: dict[str, bytes] = {}
    for i, version in enumerate(versions):
        dists = release_files(PROJECT, version, size)
        files.update(dists)
        store.add_release(PROJECT, version, dists, uploader="mallory",
                          at=T0 + timedelta(days=i), requires_dist=["attrs>=20"])
    settings = settings_for(store_url, double.url)
    await feed_sync(settings)
    store.remove_project(PROJECT, actor="mallory")
    await feed_sync(settings)
    return World(double, settings, files, list(versions))


def open_actions(world: World, store_url: str, *, storage: BlobStorage | None = None,
                 config: PlaybooksSection | None = None,
                 admins: Sequence[str] = ADMINS) -> tuple[Actions, AsyncEngine]:
    engine = create_engine(store_url)
    files = FilesystemStorage(world.files_dir)
    backends = Backends(WarehouseAdmin.open(world.db_url, files), storage or files)
    return Actions(session_factory(engine), backends, config or PlaybooksSection(), admins,
                   notifiers=[]), engine


async def close_actions(actions: Actions, engine: AsyncEngine) -> None:
    await actions.backends.close()
    await engine.dispose()


async def incident_id(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        found = (await s.execute(sa.select(Incident.id).where(
            Incident.kind == "project-removed"))).scalar_one()
    return int(found)


def index_rows(world: World) -> dict[str, Any]:
    """What the index double holds for the project, without ids and timestamps of now."""
    f, r, p, j = ws.release_files, ws.releases, ws.projects, ws.journals
    with world.double.store.engine.connect() as c:
        files = sorted(tuple(row) for row in c.execute(
            sa.select(r.c.version, f.c.filename, f.c.path, f.c.size, f.c.sha256_digest,
                      f.c.blake2_256_digest, f.c.md5_digest, f.c.upload_time, f.c.packagetype)
            .join(r, r.c.id == f.c.release_id).join(p, p.c.id == r.c.project_id)))
        releases = sorted(tuple(row) for row in c.execute(
            sa.select(r.c.version, r.c.yanked, r.c._pypi_ordering)))
        journal = sorted((row.name, row.version or "", row.action) for row in c.execute(
            sa.select(j).where(j.c.id > _removal_serial(c))))
        project = c.execute(sa.select(p.c.name, p.c.total_size)).all()
    return {"files": files, "releases": releases, "journal": journal, "project": project}


def _removal_serial(c: sa.Connection) -> int:
    j = ws.journals
    return int(c.execute(sa.select(sa.func.max(j.c.id))
                         .where(j.c.action == "remove project")).scalar() or 0)
