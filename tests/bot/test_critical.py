"""Critical projects: the set (downloads, dependencies, admins; sticky) and the detector,
replayed through the index double over real HTTP on both stores."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.actions import NotAuthorized
from bot.config import Settings, load_settings
from bot.critical import recompute
from bot.incidents import get_incident, record_finding
from bot.store.models import AuditEntry, CriticalMark, Incident, Project
from bot.types import Finding, Severity
from bot.wiring import Warden
from detectors.critical_set import dependency_closure, runtime_dependencies
from tests.support.indexdouble import IndexDouble

T0 = datetime(2022, 3, 1, tzinfo=UTC)


def settings_for(store_url: str, index_url: str, tmp_path: Path, **critical: object) -> Settings:
    return load_settings(
        store={"url": store_url},
        index={"url": index_url, "backoff_seconds": 0.05, "max_retries": 2},
        feed={"start_serial": 0},
        critical={"top": "0", **critical},
        notify={"console": False},
        access={"admins": ["alice-admin", "bob-admin"]},
    )


@pytest.fixture
async def warden_factory(
    index_double: IndexDouble, store_url: str, tmp_path: Path
) -> AsyncIterator[object]:
    opened: list[Warden] = []

    async def make(**critical: object) -> Warden:
        warden = await Warden.open(settings_for(store_url, index_double.url, tmp_path, **critical))
        opened.append(warden)
        await warden.ensure_critical_set()
        return warden

    yield make
    for warden in opened:
        await warden.close()


async def incidents(warden: Warden) -> list[Incident]:
    async with warden.sessions() as session:
        return list((await session.execute(select(Incident).order_by(Incident.id))).scalars())


async def test_atomicwrites_deletion_one_incident_with_every_file(
    index_double: IndexDouble, warden_factory: object
) -> None:
    s = index_double.store
    s.create_project("atomicwrites", "untitaker", at=T0)
    contents: dict[str, bytes] = {}
    for i in range(6):
        files = [(f"atomicwrites-1.{i}.0-py2.py3-none-any.whl", b"w" * (1000 + i)),
                 (f"atomicwrites-1.{i}.0.tar.gz", b"s" * (2000 + i))]
        contents.update(files)
        s.add_release("atomicwrites", f"1.{i}.0", files, at=T0 + timedelta(days=i))
    warden = await warden_factory(projects=["atomicwrites"])  # type: ignore[operator]
    await recompute(warden.sessions, warden.settings, warden.pipeline.tracked, warden.feed.feed)
    await warden.feed.sync()
    s.remove_project("atomicwrites")
    await warden.feed.sync()
    s.add_journal("atomicwrites", None, "remove project")  # the same removal, re-sent
    await warden.feed.sync()

    [incident] = await incidents(warden)
    assert (incident.severity, incident.kind, incident.occurrences) == ("critical", "project-removed", 2)
    lost = incident.evidence[1]["data"]
    assert len(lost["files"]) == len(contents) == 12
    for f in lost["files"]:
        body = contents[f["filename"]]
        assert f["sha256"] == hashlib.sha256(body).hexdigest()
        assert f["blake2b_256"] == hashlib.blake2b(body, digest_size=32).hexdigest()
        assert f["size"] == len(body)
    assert lost["total_bytes"] == sum(len(b) for b in contents.values())
    assert "12 file(s)" in incident.summary and "6 release(s)" in incident.summary
    assert incident.evidence[0]["url"].endswith("/project/atomicwrites/")
    assert incident.evidence[0]["data"]["admin_url"].endswith("/admin/projects/atomicwrites/")


async def test_non_critical_deletion_raises_nothing(
    index_double: IndexDouble, warden_factory: object
) -> None:
    s = index_double.store
    s.create_project("left-pad", "someone")
    s.add_release("left-pad", "1.0", [("left_pad-1.0-py3-none-any.whl", b"x")])
    s.remove_release("left-pad", "1.0")
    s.remove_project("left-pad")
    warden = await warden_factory(projects=["requests"])  # type: ignore[operator]
    await warden.feed.sync()
    assert await incidents(warden) == []


async def test_new_owner_then_release_escalates_one_incident(
    index_double: IndexDouble, warden_factory: object
) -> None:
    s = index_double.store
    s.create_project("ctx", "figlief", at=T0)
    s.add_release("ctx", "0.1.2", [("ctx-0.1.2.tar.gz", b"ctx")], at=T0)
    warden = await warden_factory(projects=["ctx"])  # type: ignore[operator]
    await warden.feed.sync()
    now = datetime.now(UTC)
    s.add_role("ctx", "aydinnyunus", "Maintainer", at=now)
    await warden.feed.sync()
    [incident] = await incidents(warden)
    assert (incident.kind, incident.severity) == ("ownership-change", "high")
    s.add_release("ctx", "0.2.2", [("ctx-0.2.2.tar.gz", b"evil")], at=now + timedelta(hours=5))
    await warden.feed.sync()
    [incident] = await incidents(warden)
    assert incident.severity == "critical" and incident.occurrences == 2
    assert "0.2.2" in incident.summary and "aydinnyunus" in incident.summary
    async with warden.sessions() as session:
        loaded = await get_incident(session, incident.id)
        assert loaded is not None
        assert [t.action for t in loaded.timeline] == ["opened", "escalated"]


async def test_release_long_after_a_role_change_is_quiet(
    index_double: IndexDouble, warden_factory: object
) -> None:
    s = index_double.store
    s.create_project("six", "gutworth", at=T0)
    s.add_role("six", "benjamin", "Maintainer", at=T0 + timedelta(days=1))
    s.add_release("six", "1.16.0", [("six-1.16.0.tar.gz", b"six")], at=T0 + timedelta(days=30))
    warden = await warden_factory(projects=["six"])  # type: ignore[operator]
    await warden.feed.sync()
    assert [i.severity for i in await incidents(warden)] == ["high"]  # the role add only


async def test_yanks_and_all_owners_removed_and_quarantine(
    index_double: IndexDouble, warden_factory: object
) -> None:
    s = index_double.store
    s.create_project("urllib3", "sethmlarson", at=T0)
    s.add_role("urllib3", "shazow", "Owner", at=T0)
    for v in ("1.0", "2.0"):
        s.add_release("urllib3", v, [(f"urllib3-{v}.tar.gz", v.encode())],
                      at=T0 + timedelta(days=10))
    warden = await warden_factory(projects=["urllib3"])  # type: ignore[operator]
    await warden.feed.sync()
    assert len(await incidents(warden)) == 1  # shazow joined an existing project
    s.yank("urllib3", "1.0", "old")  # not the latest: quiet
    await warden.feed.sync()
    assert len(await incidents(warden)) == 1
    s.yank("urllib3", "2.0", "everything")  # latest, and now every release
    now = datetime.now(UTC)
    s.add_role("urllib3", "mallory", "Owner", at=now)
    s.remove_role("urllib3", "sethmlarson", at=now)
    s.remove_role("urllib3", "shazow", at=now)
    s.quarantine_project("urllib3")
    await warden.feed.sync()
    found = {(i.kind, i.severity): i for i in await incidents(warden)}
    assert len(found) == 3, [(i.kind, i.severity, i.summary) for i in found.values()]
    assert "every release" in found[("release-yanked", "high")].summary.lower()
    owners = found[("ownership-change", "high")]
    async with warden.sessions() as session:
        loaded = await get_incident(session, owners.id)
        assert loaded is not None
        said = [t.detail.get("summary", "") for t in loaded.timeline]
    assert owners.occurrences == 3  # shazow, then mallory, then the last old owner leaving
    assert any("owners now: mallory" in line for line in said), said
    assert ("quarantined", "info") in found


async def test_account_under_domain_incident_acting_opens_takeover_chain(
    index_double: IndexDouble, warden_factory: object
) -> None:
    s = index_double.store
    s.create_project("ctx", "figlief")
    warden = await warden_factory(projects=["ctx"])  # type: ignore[operator]
    await warden.feed.sync()
    async with warden.sessions.begin() as session:
        await record_finding(session, Finding(
            detector="domains", kind="resurrected", subject="account:figlief",
            severity=Severity.CRITICAL, summary="figlief.com re-registered after verification",
        ), datetime.now(UTC), [])
    s.add_release("ctx", "0.2.6", [("ctx-0.2.6.tar.gz", b"x")])
    await warden.feed.sync()
    chain = [i for i in await incidents(warden) if i.kind == "takeover-chain"]
    assert len(chain) == 1 and chain[0].severity == "critical"
    assert "incident #" in chain[0].summary and "new release" in chain[0].summary


def write_downloads(path: Path, names: list[str]) -> Path:
    rows = ["project,downloads"] + [f"{n},{1000 - i}" for i, n in enumerate(names)]
    path.write_text("\n".join(rows) + "\n")
    return path


async def test_sticky_across_recompute_and_admin_removal_holds(
    index_double: IndexDouble, warden_factory: object, tmp_path: Path
) -> None:
    first = write_downloads(tmp_path / "d1.csv", ["boto3", "urllib3", "six", "idna", "rich"])
    warden = await warden_factory(downloads=str(first), top="3")  # type: ignore[operator]
    async with warden.sessions() as session:  # computed on first start
        first_set = set((await session.execute(
            select(Project.name).where(Project.critical.is_(True)))).scalars())
    assert first_set == {"boto3", "six", "urllib3"}
    shrunk = write_downloads(tmp_path / "d2.csv", ["rich", "idna", "boto3", "six", "urllib3"])
    warden2 = await warden_factory(downloads=str(shrunk), top="2")  # type: ignore[operator]
    report = await recompute(warden2.sessions, warden2.settings, warden2.pipeline.tracked, None)
    assert sorted(report.added) == ["idna", "rich"]
    async with warden2.sessions() as session:
        critical = set((await session.execute(
            select(Project.name).where(Project.critical.is_(True)))).scalars())
    assert critical == {"boto3", "urllib3", "six", "rich", "idna"}

    actions = await warden2.open_actions()
    with pytest.raises(NotAuthorized):
        await actions.remove_critical("rich", "eve", "nope")
    assert await actions.remove_critical("rich", "alice-admin", "typo in the export")
    report = await recompute(warden2.sessions, warden2.settings, warden2.pipeline.tracked, None)
    assert report.kept_removed == ["rich"]
    async with warden2.sessions() as session:
        rich = (await session.execute(select(Project).where(Project.name == "rich"))).scalar_one()
        assert not rich.critical
        audit = [(a.actor, a.action, a.outcome) for a in (await session.execute(
            select(AuditEntry).order_by(AuditEntry.id))).scalars()]
    assert audit == [("eve", "critical.remove", "refused"),
                     ("alice-admin", "critical.remove", "done")]
    await actions.add_critical("rich", "bob-admin", "it is critical after all")
    await actions.close()
    async with warden2.sessions() as session:
        rich = (await session.execute(select(Project).where(Project.name == "rich"))).scalar_one()
        marks = (await session.execute(select(CriticalMark.source).where(
            CriticalMark.project_id == rich.id))).scalars().all()
    assert rich.critical and rich.critical_removed_at is None and sorted(marks) == [
        "downloads", "manual"]


async def test_dependency_closure_with_cycles_and_missing_projects(
    index_double: IndexDouble, warden_factory: object
) -> None:
    s = index_double.store
    deps = {"warehouse": ["Pyramid>=2", "celery[redis]", "rich; extra == 'dev'"],
            "pyramid": ["webob", "warehouse"],  # a cycle back to the root
            "celery": ["kombu", "does-not-exist"], "kombu": ["celery"], "webob": []}
    for name, requires in deps.items():
        s.create_project(name, "owner")
        s.add_release(name, "1.0", [(f"{name}-1.0.tar.gz", name.encode())],
                      requires_dist=requires)
    warden = await warden_factory(stack=["warehouse"])  # type: ignore[operator]
    report = await recompute(warden.sessions, warden.settings, warden.pipeline.tracked,
                             warden.feed.feed)
    async with warden.sessions() as session:
        critical = set((await session.execute(
            select(Project.name).where(Project.critical.is_(True)))).scalars())
    assert critical == {"celery", "kombu", "pyramid", "warehouse", "webob"}
    assert report.missing == ["does-not-exist"] and report.backfilled == 5
    async with warden.sessions() as session:
        kombu = (await session.execute(select(CriticalMark.detail).join(Project).where(
            Project.name == "kombu"))).scalar_one()
    assert kombu == "stack: warehouse -> celery -> kombu"


async def test_closure_respects_its_limit() -> None:
    async def chain(name: str) -> list[str]:
        return [f"p{int(name[1:]) + 1}"]

    closure = await dependency_closure(["p0"], chain, limit=10)
    assert len(closure.via) == 10 and closure.truncated


def test_runtime_dependencies_skip_extras_and_garbage() -> None:
    assert runtime_dependencies(["A_b>=1", "c[x]; python_version<'4'", "d; extra=='t'", "!!"]) == {
        "a-b", "c"}


def test_cli_recompute_list_show(tmp_path: Path, sqlite_url: str) -> None:
    downloads = write_downloads(tmp_path / "d.csv", ["boto3", "urllib3", "six"])
    env = {"WARDEN_STORE_URL": sqlite_url, "WARDEN_CRITICAL_DOWNLOADS": str(downloads),
           "WARDEN_CRITICAL_TOP": "2", "WARDEN_INDEX_URL": "http://127.0.0.1:9"}

    def warden(*args: str) -> subprocess.CompletedProcess[str]:
        import os

        return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True,
                              text=True, env={**os.environ, **env}, cwd=tmp_path, timeout=60)

    done = warden("critical", "recompute", "--no-backfill", "--json")
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)["added"]) == ["boto3", "urllib3"]
    shown = warden("critical", "show", "urllib3", "--json")
    assert json.loads(shown.stdout)["reasons"][0]["detail"] == "rank 2 of top 2"
    assert warden("critical", "show", "six").returncode == 1
    refused = warden("critical", "remove", "boto3", "--reason", "x", "--actor", "eve")
    assert refused.returncode == 1 and "access.admins" in refused.stderr
    bad = {**env, "WARDEN_CRITICAL_TOP": "lots"}
    env.update(bad)
    assert warden("critical", "list").returncode == 2
