"""The pipeline on both stores: one transaction per batch, detectors, ledger, cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, load_settings
from bot.events import EventKind, IndexEvent, parse_action
from bot.facts import FileFacts, ProjectFacts
from bot.ledger import Ledger, TrackedProjects
from bot.pipeline import Pipeline
from bot.store.db import create_engine, session_factory
from bot.store.models import Event, FeedCursor, Incident, OutboxMessage
from bot.types import Finding
from detectors.base import Context
from detectors.critical import CriticalChangeDetector
from detectors.critical_set import apply_marks

T0 = datetime(2022, 5, 1, tzinfo=UTC)


def ev(serial: int, project: str, action: str, version: str | None = None) -> IndexEvent:
    return parse_action(serial, T0 + timedelta(minutes=serial), project, version, action)


def facts(name: str, versions: dict[str, int]) -> ProjectFacts:
    releases = {}
    for version, nfiles in versions.items():
        files = []
        for i in range(nfiles):
            b2 = f"{abs(hash((name, version, i))):064x}"[:64]
            files.append(FileFacts(
                filename=f"{name}-{version}-{i}.whl", version=version, packagetype="bdist_wheel",
                python_version="py3", requires_python=None, size=1000 + i,
                sha256=b2[::-1], blake2b_256=b2, md5=None, upload_time=T0, url="", yanked=False,
                yanked_reason=None,
            ))
        releases[version] = files
    return ProjectFacts(name, 1, releases, [], [("Owner", "alice")])


class Boom:
    name = "boom"

    async def on_event(self, event: IndexEvent, ctx: Context) -> list[Finding]:
        if event.serial == 3:
            raise RuntimeError("detector failed")
        return []

    async def sweep(self, ctx: Context) -> list[Finding]:
        return []


@pytest.fixture
def settings(store_url: str) -> Settings:
    return load_settings(store={"url": store_url})


@pytest.fixture
async def sessions(store_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(store_url)
    yield session_factory(engine)
    await engine.dispose()


async def counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, int | None]:
    async with sessions() as s:
        events = (await s.execute(select(func.count()).select_from(Event))).scalar_one()
        incidents = (await s.execute(select(func.count()).select_from(Incident))).scalar_one()
        cursor = await s.get(FeedCursor, "pypi")
        return events, incidents, None if cursor is None else cursor.serial


async def test_batch_commits_events_and_cursor_together(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    pipeline = Pipeline(sessions, settings, [], TrackedProjects(), [])
    result = await pipeline.commit_batch([ev(1, "a", "create"), ev(2, "a", "docdestroy")])
    assert (result.events, result.last_serial) == (2, 2)
    assert result.by_kind == {"create": 1, "other": 1}
    assert await counts(sessions) == (2, 0, 2)
    async with sessions() as s:
        raw = (await s.execute(select(Event.raw).where(Event.serial == 2))).scalar_one()
    assert raw == "docdestroy"  # unknown actions are kept, not dropped


async def test_failure_mid_batch_stores_nothing(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    pipeline = Pipeline(sessions, settings, [Boom()], TrackedProjects(), [])
    await pipeline.commit_batch([ev(1, "a", "create")])
    with pytest.raises(RuntimeError, match="detector failed"):
        await pipeline.commit_batch([ev(2, "a", "new release", "1"), ev(3, "a", "remove project")])
    assert await counts(sessions) == (1, 0, 1)


async def test_already_stored_events_are_skipped(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    pipeline = Pipeline(sessions, settings, [], TrackedProjects(), [])
    await pipeline.commit_batch([ev(1, "a", "create"), ev(2, "a", "new release", "1")])
    result = await pipeline.commit_batch([ev(2, "a", "new release", "1"), ev(3, "b", "create")])
    assert result.events == 1
    assert await counts(sessions) == (3, 0, 3)


async def critical_pipeline(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], name: str = "atomicwrites"
) -> Pipeline:
    tracked = TrackedProjects()
    async with sessions.begin() as s:
        await apply_marks(s, {name: (name, "downloads", "rank 1 of top 1")}, T0)
    tracked.add(name)
    return Pipeline(sessions, settings,
                    [CriticalChangeDetector(settings.critical, settings.index.url)], tracked,
                    ["console"])


async def test_critical_deletion_lists_every_lost_file_once(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    pipeline = await critical_pipeline(settings, sessions)
    versions = {f"1.{i}": 2 for i in range(5)}
    await pipeline.commit_batch(
        [ev(10, "atomicwrites", "new release", "1.4")], [facts("atomicwrites", versions)]
    )
    result = await pipeline.commit_batch(
        [ev(11, "atomicwrites", "remove project"), ev(12, "unrelated", "remove project")]
    )
    assert len(result.incidents) == 1
    async with sessions() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
        assert (incident.severity, incident.kind, incident.subject) == (
            "critical", "project-removed", "project:atomicwrites")
        lost = incident.evidence[1]["data"]
        assert sorted(lost["releases"]) == sorted(versions)
        assert len(lost["files"]) == 10
        assert all(len(f["sha256"]) == 64 and f["path"].startswith("packages/") for f in lost["files"])
        assert lost["total_bytes"] == sum(1000 + i for _ in versions for i in range(2))
        assert incident.playbooks == ["restore"]
        project = await Ledger(s, pipeline.tracked).project("atomicwrites", with_files=True)
        assert project is not None and project.removed_at is not None
        assert all(f.removed_at is not None for r in project.releases for f in r.files)
        outbox = (await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
        assert outbox == 1
    # the same removal seen again (a re-sent event) updates, never duplicates
    await pipeline.commit_batch([ev(13, "atomicwrites", "remove project")])
    async with sessions() as s:
        incidents = (await s.execute(select(Incident))).scalars().all()
        assert len(incidents) == 1 and incidents[0].occurrences == 2


async def test_release_and_file_removal_of_critical_project(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    pipeline = await critical_pipeline(settings, sessions, "six")
    await pipeline.commit_batch([ev(1, "six", "new release", "1.0")],
                                [facts("six", {"1.0": 3, "1.1": 1})])
    await pipeline.commit_batch([ev(2, "six", "remove file six-1.0-1.whl", "1.0")])
    await pipeline.commit_batch([ev(3, "six", "remove release", "1.1")])
    async with sessions() as s:
        rows = (await s.execute(select(Incident).order_by(Incident.id))).scalars().all()
    assert [(i.kind, i.severity, i.subject) for i in rows] == [
        ("file-removed", "high", "project:six@1.0"),
        ("release-removed", "high", "project:six@1.1"),
    ]
    assert [f["filename"] for f in rows[0].evidence[1]["data"]["files"]] == ["six-1.0-1.whl"]
    assert rows[1].evidence[1]["data"]["releases"] == ["1.1"]


async def test_ledger_follows_roles_and_yanks(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    pipeline = await critical_pipeline(settings, sessions, "ctx")
    await pipeline.commit_batch([
        ev(1, "ctx", "create"), ev(2, "ctx", "add Owner alice"), ev(3, "ctx", "new release", "0.1"),
        ev(4, "ctx", "add Maintainer mallory"), ev(5, "ctx", "change Maintainer mallory to Owner"),
        ev(6, "ctx", "remove Owner alice"), ev(7, "ctx", "yank release", "0.1"),
    ])
    async with sessions() as s:
        ledger = Ledger(s, pipeline.tracked)
        roles = {a.username: (r.role, r.removed_at is not None) for r, a in await ledger.roles("ctx")}
        project = await ledger.project("CTX", with_files=True)
    assert roles == {"alice": ("Owner", True), "mallory": ("Owner", False)}
    assert project is not None and [r.yanked for r in project.releases] == [True]
    assert project.created_at == T0 + timedelta(minutes=1)


def test_untracked_events_do_not_touch_the_ledger() -> None:
    assert ev(1, "x", "yank release", "1").kind is EventKind.YANK
