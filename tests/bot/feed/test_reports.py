"""The reports source against Warehouse's real schema (PostgreSQL) and both stores.

Reports are seeded as Warehouse writes them (tests.support.reports); the source reads
them, opens one incident per project, records each report once and moves its cursor in
the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.feed.reports import FEED, ReportsSource
from bot.incidents import Status, get_incident, transition
from bot.store.db import create_engine, session_factory
from bot.store.models import FeedCursor, Incident, OutboxMessage
from bot.store.playbook_models import PlaybookRun, RunStatus
from bot.store.report_models import ReportSeen
from detectors.reports.dossier import TypoVerdict
from detectors.reports.settings import ReportsSection
from tests.support.dists import wheel
from tests.support.reports import add_verdict, naive_now, report, trust
from tests.support.warehouse_db import Seeder, dsn

pytestmark = pytest.mark.service


@dataclass
class World:
    seed: Seeder
    source: ReportsSource
    sessions: async_sessionmaker[AsyncSession]
    url: str

    @property
    def conn(self) -> asyncpg.Connection:
        return self.seed.conn

    async def incidents(self) -> list[Incident]:
        async with self.sessions() as s:
            ids = (await s.execute(sa.select(Incident.id).order_by(Incident.id))).scalars()
            return [i for i in [await get_incident(s, x) for x in list(ids)] if i is not None]

    async def seen(self) -> list[ReportSeen]:
        async with self.sessions() as s:
            return list((await s.execute(sa.select(ReportSeen))).scalars())


def typo(name: str) -> TypoVerdict | None:
    if name.lower() == "reqeusts":
        return TypoVerdict("requests", "transposition", 0.93,
                           "`reqeusts` is `requests` with `ue` transposed")
    return None


async def _world(warehouse_url: str, store_url: str, tmp_path: Path,
                 cfg: ReportsSection | None = None) -> World:
    seed = Seeder(await asyncpg.connect(dsn(warehouse_url)), tmp_path / "files")
    seed.clock = naive_now(hours=-3)  # the project is three hours old
    for name in ("admin", "mallory", "hunter", "someone", "third"):
        await seed.user(name, (f"{name}@example.org", True))
    await trust(seed.conn, "hunter")
    await seed.project("evil-pkg", "mallory")
    await seed.release("evil-pkg", "1.0", "mallory", [wheel("evil-pkg", "1.0", 200)])
    await seed.release("evil-pkg", "2.0", "mallory", [wheel("evil-pkg", "2.0", 300)])
    sessions = session_factory(create_engine(store_url))
    source = ReportsSource(sessions, create_engine(warehouse_url),
                           cfg or ReportsSection(overlap_seconds=600), ["console"], typo=typo)
    return World(seed, source, sessions, warehouse_url)


@pytest.fixture
async def world(warehouse_url: str, store_url: str, tmp_path: Path) -> AsyncIterator[World]:
    w = await _world(warehouse_url, store_url, tmp_path)
    try:
        yield w
    finally:
        await w.source.close()
        await w.conn.close()


def _kinds(incident: Incident, kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in incident.evidence if e["data"].get("kind") == kind]


async def test_trusted_report_on_young_project_is_one_critical_incident(world: World) -> None:
    oid = await report(world.conn, "evil-pkg", "hunter", created=naive_now(minutes=-5))
    first = await world.source.poll()
    assert first.reports == 1 and len(first.incidents) == 1
    [incident] = await world.incidents()
    assert incident.detector == "reports" and incident.kind == "malware-report"
    assert incident.subject == "project:evil-pkg" and incident.severity == "critical"
    assert "1 open malware report(s) on evil-pkg from 1 observer(s), 1 trusted" \
        in incident.summary
    [grade] = _kinds(incident, "grade")
    assert "a trusted observer (hunter) reported the project" in grade["why"][0]
    [project] = _kinds(incident, "project")
    assert project["exists"] and project["versions"] == ["1.0", "2.0"]
    assert project["uploaders"] == ["mallory"]
    assert [a["username"] for a in project["accounts"]] == ["mallory"]
    [files] = _kinds(incident, "files")
    assert {f["filename"] for r in files["releases"] for f in r["files"]} == {
        "evil_pkg-1.0-py3-none-any.whl", "evil_pkg-2.0-py3-none-any.whl"}
    assert all(len(f["sha256"]) == 64 for r in files["releases"] for f in r["files"])
    [rep] = _kinds(incident, "report")
    assert rep["id"] == str(oid) and rep["observer"] == "hunter" and rep["trusted"]
    assert rep["record"] == {"confirmed": 0, "false_positives": 0, "pending": 1,
                             "accuracy": None}
    # Seen once: the next poll finds nothing, the cursor is the report's time.
    again = await world.source.poll()
    assert again.reports == 0 and again.incidents == []
    assert [s.observation_id for s in await world.seen()] == [str(oid)]
    cursor = await world.source.cursor()
    assert cursor is not None and abs((cursor.replace(tzinfo=None) - naive_now(minutes=-5))
                                      .total_seconds()) < 5


async def test_second_report_updates_the_incident_and_raises_severity(world: World) -> None:
    await report(world.conn, "evil-pkg", "someone", created=naive_now(minutes=-9))
    await world.source.poll()
    [incident] = await world.incidents()
    assert incident.severity == "warning"
    assert "from 1 observer(s), 0 trusted" in incident.summary
    await report(world.conn, "evil-pkg", "hunter", created=naive_now(minutes=-1),
                 summary="confirmed: exfiltrates ~/.aws")
    result = await world.source.poll()
    assert result.reports == 1
    [updated] = await world.incidents()
    assert updated.id == incident.id and updated.occurrences == 2
    assert updated.severity == "critical"
    assert "2 open malware report(s) on evil-pkg from 2 observer(s), 1 trusted" \
        in updated.summary
    assert [t.action for t in updated.timeline] == ["opened", "escalated"]


async def test_observer_accuracy_counts_as_warehouse_does(world: World) -> None:
    # someone's record: one confirmed (remove_malware), one false positive, one pending.
    await world.seed.project("old-one", "mallory")
    await world.seed.project("fine-one", "mallory")
    await report(world.conn, "old-one", "someone", created=naive_now(days=-30),
                 actions={"1": {"action": "remove_malware", "actor": "x", "created_at": "t"}})
    await report(world.conn, "fine-one", "someone", created=naive_now(days=-30),
                 actions={"1": {"action": "verdict_not_malware", "actor": "x",
                                "created_at": "t", "reason": "fine"}})
    await report(world.conn, "evil-pkg", "someone", created=naive_now(minutes=-2))
    await world.source.poll()
    [incident] = await world.incidents()  # the decided ones open nothing
    [rep] = _kinds(incident, "report")
    assert rep["record"] == {"confirmed": 1, "false_positives": 1, "pending": 1,
                             "accuracy": 50.0}


async def test_late_commit_inside_the_overlap_is_handled_once(world: World) -> None:
    await report(world.conn, "evil-pkg", "someone", created=naive_now(minutes=-1))
    await world.source.poll()
    # A transaction that began earlier commits now: its created is before the cursor.
    late = await report(world.conn, "evil-pkg", "third", created=naive_now(minutes=-4))
    result = await world.source.poll()
    assert result.reports == 1
    assert str(late) in {s.observation_id for s in await world.seen()}
    assert (await world.source.poll()).reports == 0
    [incident] = await world.incidents()
    assert incident.occurrences == 2


async def test_lost_cursor_reads_again_without_duplicates(world: World) -> None:
    """A crash after the commit of the incidents but with the cursor lost (or a restore of
    an old backup) re-reads everything: nothing is opened or counted twice."""
    for who in ("someone", "third"):
        await report(world.conn, "evil-pkg", who, created=naive_now(minutes=-3))
    await world.source.poll()
    async with world.sessions.begin() as s:
        await s.execute(sa.delete(FeedCursor).where(FeedCursor.feed == FEED))
    assert (await world.source.poll()).reports == 0
    [incident] = await world.incidents()
    assert incident.occurrences == 1 and len(await world.seen()) == 2


async def test_concurrent_polls_make_one_incident(warehouse_url: str, pg_url: str,
                                                  tmp_path: Path) -> None:
    w = await _world(warehouse_url, pg_url, tmp_path)
    other = ReportsSource(w.sessions, create_engine(warehouse_url), w.source.cfg, ["console"])
    try:
        for i in range(20):
            await report(w.conn, "evil-pkg", ("someone", "third")[i % 2],
                         created=naive_now(seconds=-100 + i))
        results = await asyncio.gather(w.source.poll(), other.poll())
        assert sum(r.reports for r in results) == 20
        assert len(await w.incidents()) == 1 and len(await w.seen()) == 20
    finally:
        await other.close()
        await w.source.close()
        await w.conn.close()


async def test_report_on_a_release_names_it(world: World) -> None:
    await report(world.conn, "evil-pkg", "someone", version="2.0",
                 created=naive_now(minutes=-1))
    await world.source.poll()
    [incident] = await world.incidents()
    assert incident.subject == "project:evil-pkg"
    [rep] = _kinds(incident, "report")
    assert rep["table"] == "release" and rep["version"] == "2.0"
    [project] = _kinds(incident, "project")
    assert project["reported_versions"] == ["2.0"]


async def test_report_on_a_project_removed_since(world: World) -> None:
    await report(world.conn, "evil-pkg", "someone", created=naive_now(minutes=-2))
    # Removed in Warehouse before the bot read the report: related_id goes NULL.
    await world.conn.execute("UPDATE project_observations SET related_id = NULL")
    await world.conn.execute("UPDATE release_observations SET related_id = NULL")
    await world.seed.journal("evil-pkg", None, "remove project", "admin")
    await world.conn.execute("DELETE FROM projects WHERE name = 'evil-pkg'")
    await world.source.poll()
    [incident] = await world.incidents()
    assert incident.severity == "warning"
    assert "no longer on the index" in incident.summary
    [project] = _kinds(incident, "project")
    assert not project["exists"] and project["removed_at"] is not None
    [rep] = _kinds(incident, "report")
    # Warehouse counts a report on a removed project as confirmed.
    assert rep["record"]["confirmed"] == 1


async def test_empty_huge_and_odd_reports_never_crash(world: World) -> None:
    await world.seed.project("reqeusts", "mallory")
    await report(world.conn, "evil-pkg", "someone", summary="", created=naive_now(minutes=-3))
    await report(world.conn, "reqeusts", "third", summary="A" * 1_000_000 + "\u202e",
                 created=naive_now(minutes=-2), inspector_url="javascript:alert(1)")
    # A report whose project is gone and whose related_name says nothing useful.
    who = await world.conn.fetchval("SELECT id FROM observers LIMIT 1")
    await world.conn.execute(
        "INSERT INTO project_observations (related_id, related_name, observer_id, kind, "
        "summary, payload, created, actions) VALUES (NULL, '', $1, 'is_malware', 'x', "
        "'[1, 2]'::jsonb, $2, '{\"x\": 5, \"99\": \"no\"}'::jsonb)", who,
        naive_now(minutes=-1))
    result = await world.source.poll()
    assert result.reports == 3
    incidents = {i.subject: i for i in await world.incidents()}
    assert set(incidents) == {"project:evil-pkg", "project:reqeusts"}
    [empty] = _kinds(incidents["project:evil-pkg"], "report")
    assert empty["summary"] == "" and empty["summary_chars"] == 0
    squat = incidents["project:reqeusts"]
    [huge] = _kinds(squat, "report")
    assert huge["summary_chars"] == 1_000_001 and len(huge["summary"]) <= 1500
    assert not any(e["url"] and e["url"].startswith("javascript") for e in squat.evidence)
    assert squat.severity == "high"  # the name imitates requests
    assert _kinds(squat, "typosquat")[0]["target"] == "requests"


async def test_verdict_in_warehouse_closes_the_incident(world: World) -> None:
    await report(world.conn, "evil-pkg", "someone", created=naive_now(minutes=-2))
    await world.source.poll()
    [incident] = await world.incidents()
    async with world.sessions.begin() as s:  # a verdict run waiting for its approval
        now = incident.created_at
        s.add(PlaybookRun(playbook="quarantine", subject="project:evil-pkg",
                          target={"project": "evil-pkg"}, options={}, reason="r",
                          incident_id=incident.id, backend="warehouse", destructive=True,
                          approval_required=True, status=RunStatus.AWAITING_APPROVAL,
                          requested_by="alice", plan={}, plan_text="", requested_at=now,
                          updated_at=now))
    assert await world.source.settle() == []  # still open: nothing decided
    await add_verdict(world.conn, "evil-pkg", "ee", "verdict_not_malware", "a linter")
    assert await world.source.settle() == [incident.id]
    [closed] = await world.incidents()
    assert closed.status == "false_positive"
    assert "verdict_not_malware by ee" in closed.timeline[-1].detail["note"]
    async with world.sessions() as s:
        run = (await s.execute(sa.select(PlaybookRun))).scalar_one()
    assert run.status == RunStatus.CANCELLED
    assert await world.source.settle() == []


async def test_unacknowledged_reports_are_reminded_then_paged_once(
        warehouse_url: str, sqlite_url: str, tmp_path: Path) -> None:
    cfg = ReportsSection(remind_after_minutes=30, remind_every_minutes=60,
                         escalate_after_minutes=120, escalate_channel="#oncall",
                         escalate_mention=["S0ONCALL1"])
    w = await _world(warehouse_url, sqlite_url, tmp_path, cfg)
    try:
        await report(w.conn, "evil-pkg", "someone", created=naive_now(minutes=-1))
        await report(w.conn, "evil-pkg", "someone", created=naive_now(minutes=-1))
        [iid, *_] = (await w.source.poll()).incidents
        [opened] = await w.incidents()
        t0 = opened.created_at

        def at(minutes: float) -> datetime:
            return t0 + timedelta(minutes=minutes)

        assert await w.source.chase(at(29)) == ([], [])
        assert await w.source.chase(at(31)) == ([iid], [])
        assert await w.source.chase(at(60)) == ([], [])  # within remind_every
        assert await w.source.chase(at(92)) == ([iid], [])
        assert await w.source.chase(at(121)) == ([], [iid])  # paged, nights included
        assert await w.source.chase(at(125)) == ([], [])
        assert await w.source.chase(at(153)) == ([iid], [])  # reminded, never paged twice
        [incident] = await w.incidents()
        paged = [t for t in incident.timeline if t.action == "paged"]
        assert [t.detail for t in paged] == [{"waited": "2 h 1 min", "channel": "#oncall",
                                              "mention": ["S0ONCALL1"]}]
        async with w.sessions() as s:
            queued = (await s.execute(sa.select(sa.func.count()).select_from(OutboxMessage)
                                      .where(OutboxMessage.kind == "incident.reminder"))
                      ).scalar_one()
        assert queued == 4
        # Acknowledged: nobody is chased any more.
        async with w.sessions.begin() as s:
            row = await s.get(Incident, iid)
            assert row is not None
            await transition(s, row, Status.ACKNOWLEDGED, "alice", at(154), ["console"])
        assert await w.source.chase(at(400)) == ([], [])
    finally:
        await w.source.close()
        await w.conn.close()


async def test_the_summary_says_since_when_the_reports_wait(world: World) -> None:
    filed = naive_now(minutes=-7)
    await report(world.conn, "evil-pkg", "someone", created=filed)
    await world.source.poll()
    [incident] = await world.incidents()
    assert incident.summary.endswith(
        f"; waiting for a verdict since {filed:%Y-%m-%d %H:%M} UTC")
