"""The event-driven detector inside the pipeline, on SQLite and PostgreSQL: pure compute
for ordinary events, incidents for look-alike creations, and the exemptions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions import Actions, InvalidState, NotAuthorized
from bot.config import load_settings
from bot.events import IndexEvent, parse_action
from bot.ledger import Ledger, TrackedProjects
from bot.pipeline import Pipeline
from bot.store.db import create_engine, session_factory
from bot.store.models import AuditEntry, Incident, Project
from bot.store.typosquat_models import TyposquatAllow
from detectors.base import Context
from detectors.typosquat.allowlist import is_allowed
from detectors.typosquat.detector import TyposquatDetector
from detectors.typosquat.index import ProtectedIndex
from detectors.typosquat.settings import TyposquatSection
from detectors.typosquat.verdict import Analyzer
from playbooks.settings import PlaybooksSection

T0 = datetime(2024, 3, 27, 12, tzinfo=UTC)


def ev(serial: int, project: str, action: str, version: str | None = None) -> IndexEvent:
    return parse_action(serial, T0 + timedelta(seconds=serial), project, version, action)


def detector(small_index: ProtectedIndex, **cfg: Any) -> TyposquatDetector:
    section = TyposquatSection(allowlist=[], **cfg)
    return TyposquatDetector(section, analyzer=Analyzer.from_settings(section, small_index))


class Untouchable:
    """A session or ledger that fails the test if the detector uses it at all."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store was used ({name}) for an event that needs no I/O")


def untouchable_context() -> Context:
    return Context(session=cast(AsyncSession, Untouchable()), ledger=cast(Ledger, Untouchable()),
                   now=T0)


@pytest.mark.parametrize("action", ["add 3.12 file reqeusts-1.0.tar.gz", "remove project",
                                    "add Owner mallory", "yank release"])
async def test_other_events_return_at_once(small_index: ProtectedIndex, action: str) -> None:
    found = await detector(small_index).on_event(ev(1, "reqeusts", action, "1.0"),
                                                 untouchable_context())
    assert found == []


async def test_a_create_resembling_nothing_is_pure_compute(small_index: ProtectedIndex) -> None:
    d = detector(small_index, protect_critical=False)
    ctx = untouchable_context()
    assert await d.on_event(ev(1, "totally-unrelated", "create"), ctx) == []
    assert await d.on_event(ev(2, "requests", "create"), ctx) == []  # a protected name itself


@pytest.fixture
async def sessions(store_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(store_url)
    yield session_factory(engine)
    await engine.dispose()


def pipeline(sessions: async_sessionmaker[AsyncSession], d: TyposquatDetector,
             tracked: TrackedProjects | None = None) -> Pipeline:
    settings = load_settings(notify={"console": False})
    return Pipeline(sessions, settings, [d], tracked or TrackedProjects(), [])


async def typosquat_incidents(sessions: async_sessionmaker[AsyncSession]) -> list[Incident]:
    async with sessions() as session:
        rows = await session.execute(
            select(Incident).where(Incident.detector == "typosquat").order_by(Incident.id)
        )
        return list(rows.scalars())


async def test_create_raises_one_explained_incident(
    sessions: async_sessionmaker[AsyncSession], fresh_index: ProtectedIndex,
) -> None:
    await pipeline(sessions, detector(fresh_index)).commit_batch([
        ev(10, "reqeusts", "create"), ev(11, "reqeusts", "add Owner mallory"),
        ev(12, "reqeusts", "new release", "2.31.0"),
        ev(13, "reqeusts", "add source file reqeusts-2.31.0.tar.gz", "2.31.0"),
        ev(14, "reqeusts", "add py3 file reqeusts-2.31.0-py3-none-any.whl", "2.31.0"),
        ev(15, "some-new-thing", "create"),
    ])
    [incident] = await typosquat_incidents(sessions)
    assert (incident.kind, incident.subject, incident.severity) == (
        "typosquat", "project:reqeusts", "high")
    assert "`reqeusts` is `requests` with `ue` transposed" in incident.summary
    explained, changelog, uploader, files, people = incident.evidence
    assert explained["summary"] == "`reqeusts` is `requests` with `ue` transposed"
    assert explained["data"] | {"score": 0, "name_score": 0} == {
        "candidate": "reqeusts", "target": "requests", "technique": "transposition", "score": 0,
        "name_score": 0, "target_rank": 1, "target_url": "https://pypi.org/project/requests/"}
    assert changelog["serial"] == 10 and uploader["data"]["uploaders"] == ["mallory"]
    assert files["data"]["versions"] == ["2.31.0"] and len(files["data"]["files"]) == 2
    assert people["summary"] == "the uploader owns no other project the bot knows of"
    assert explained["data"]["score"] > explained["data"]["name_score"]
    assert set(incident.playbooks) == {"quarantine", "yank", "freeze"}


async def test_first_release_of_a_never_seen_project_only(
    sessions: async_sessionmaker[AsyncSession], fresh_index: ProtectedIndex,
) -> None:
    pipe = pipeline(sessions, detector(fresh_index))
    await pipe.commit_batch([ev(20, "colourama", "new release", "0.4.6")])  # created earlier
    await pipe.commit_batch([ev(21, "colourama", "new release", "0.4.7")])
    await pipe.commit_batch([ev(22, "jeIlyfish", "create"),
                             ev(23, "jeIlyfish", "new release", "1")])
    fresh = pipeline(sessions, detector(fresh_index))  # another process: memory is empty
    await fresh.commit_batch([ev(24, "jeIlyfish", "new release", "2")])
    incidents = await typosquat_incidents(sessions)
    assert [(i.subject, i.occurrences) for i in incidents] == [
        ("project:colourama", 1), ("project:jeilyfish", 1)]


async def test_false_positive_is_stored_audited_and_respected(
    sessions: async_sessionmaker[AsyncSession], fresh_index: ProtectedIndex,
) -> None:
    actions = Actions(sessions, None, PlaybooksSection(), ["alice", "bob"])
    assert await actions.allow("Requests-Lite", "requests", "alice", "our own fork")
    assert not await actions.allow("requests_lite", "Requests", "bob", "said twice")
    with pytest.raises(InvalidState, match=r"not a name|project name"):
        await actions.allow("not a name", "requests", "alice", "x")
    with pytest.raises(InvalidState, match="reason"):
        await actions.allow("reqeusts", "requests", "alice", " ")
    async with sessions() as session:
        [row] = (await session.execute(select(TyposquatAllow))).scalars()
        assert (row.candidate, row.target, row.actor, row.reason) == (
            "requests-lite", "requests", "alice", "our own fork")
        audits = list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())
        assert [(a.actor, a.action, a.outcome, a.detail.get("created")) for a in audits] == [
            ("alice", "typosquat.false_positive", "done", True),
            ("bob", "typosquat.false_positive", "done", False),
            ("alice", "typosquat.false_positive", "refused", None),
            ("alice", "typosquat.false_positive", "refused", None)]
        assert await is_allowed(session, "requests-lite", "requests")
        assert not await is_allowed(session, "requests-lite", "flask")
    await pipeline(sessions, detector(fresh_index)).commit_batch([
        ev(30, "requests-lite", "create"), ev(31, "requests-ssl", "create")])
    assert [i.subject for i in await typosquat_incidents(sessions)] == [
        "project:requests-ssl"]


async def test_only_admins_may_allowlist_and_refusals_are_audited_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    actions = Actions(sessions, None, PlaybooksSection(), ["alice"])
    with pytest.raises(NotAuthorized):
        await actions.allow("reqeusts", "requests", "mallory", "let me")
    async with sessions() as session:
        [audit] = (await session.execute(select(AuditEntry))).scalars()
        assert (audit.actor, audit.outcome, audit.target) == (
            "mallory", "refused", "project:reqeusts")
        assert (await session.execute(select(TyposquatAllow))).first() is None


async def test_a_maintainer_of_the_target_may_create_look_alikes(
    sessions: async_sessionmaker[AsyncSession], fresh_index: ProtectedIndex,
) -> None:
    tracked = TrackedProjects()
    async with sessions.begin() as session:
        ledger = Ledger(session, tracked)
        await ledger.track("requests", T0)
        await ledger.apply_event(ev(1, "requests", "add Owner kennethreitz"))
    await pipeline(sessions, detector(fresh_index), tracked).commit_batch([
        ev(40, "requests-py", "create"), ev(41, "requests-py", "add Owner kennethreitz"),
        ev(42, "requests-dev", "create"), ev(43, "requests-dev", "add Owner mallory"),
    ])
    assert [i.subject for i in await typosquat_incidents(sessions)] == ["project:requests-dev"]


async def test_critical_projects_in_the_store_are_protected(
    sessions: async_sessionmaker[AsyncSession], fresh_index: ProtectedIndex,
) -> None:
    async with sessions.begin() as session:
        session.add(Project(name="internal-billing", normalized_name="internal-billing",
                            critical=True, releases=[]))
    d = TyposquatDetector(
        TyposquatSection(allowlist=[]),
        analyzer=Analyzer.from_settings(TyposquatSection(), ProtectedIndex.build([("flask", 1)])),
    )
    await pipeline(sessions, d).commit_batch([ev(50, "internal-biling", "create")])
    [incident] = await typosquat_incidents(sessions)
    assert "`internal-biling` is `internal-billing` with `l` omitted" in incident.summary
    async with sessions() as session:
        count = await session.execute(select(func.count()).select_from(Incident))
        assert count.scalar_one() == 1


async def test_the_uploader_moves_the_score_and_the_severity(
    sessions: async_sessionmaker[AsyncSession], fresh_index: ProtectedIndex,
) -> None:
    """A new account is the shape of most squats (the score rises, `high` needs a top-1,000
    target all the same); an account that has maintained a project for 30 days or more is
    mostly publishing its own work (the score drops to "worth a glance")."""
    long_ago = parse_action(60, T0 - timedelta(days=40), "old-work", None, "add Owner veteran")
    recently = parse_action(61, T0 - timedelta(days=2), "fresh-work", None, "add Owner eager")
    pipe = pipeline(sessions, detector(fresh_index))
    await pipe.commit_batch([long_ago, recently])
    await pipe.commit_batch([
        ev(70, "colourama", "create"), ev(71, "colourama", "add Owner veteran"),
        ev(72, "reqeusts", "create"), ev(73, "reqeusts", "add Owner eager"),
        ev(74, "numqy", "create"), ev(75, "numqy", "add Owner mallory"),
        ev(76, "kombuca", "create"), ev(77, "kombuca", "add Owner trudy"),
    ])
    found = {i.subject.removeprefix("project:"): i for i in await typosquat_incidents(sessions)}
    scores = {name: (i.evidence[0]["data"]["name_score"], i.evidence[0]["data"]["score"],
                     i.severity) for name, i in found.items()}
    assert scores == {
        "colourama": (0.85, 0.7, "warning"),  # by an established maintainer
        "reqeusts": (0.95, 0.95, "high"),  # the uploader's other project is 2 days old
        "numqy": (0.8, 0.85, "high"),  # a new account: "almost surely"
        "kombuca": (0.82, 0.84, "warning"),  # ... but rank 9,000 stays "worth a glance"
    }
    assert found["colourama"].evidence[-1]["summary"] == (
        "the uploader owns 1 other project(s) (old-work), 1 of them known for 30 days or more")
    assert found["colourama"].evidence[-1]["data"]["established_count"] == 1
