"""restore against the index double (warehouse backend on SQLite), end to end."""

from __future__ import annotations

import hashlib

import aiohttp
import pytest
import sqlalchemy as sa

from bot.actions import ApprovalRequired, NotAuthorized, PlanRefused
from bot.ledger import Ledger, TrackedProjects
from bot.store.models import AuditEntry, Incident
from bot.store.playbook_models import PlaybookRun, RunStatus
from playbooks.base import Target
from playbooks.settings import PlaybooksSection
from tests.support.dists import release_files
from tests.support.indexdouble import IndexDouble
from tests.support.world import (
    ADMINS,
    PROJECT,
    World,
    close_actions,
    feed_sync,
    incident_id,
    index_rows,
    open_actions,
    settings_for,
)

pytestmark = pytest.mark.service


async def served_digests(world: World) -> dict[str, tuple[str, str]]:
    """Every file the double's JSON API lists, downloaded and hashed."""
    found: dict[str, tuple[str, str]] = {}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.double.url}/pypi/{PROJECT}/json") as resp:
            if resp.status == 404:
                return found
            doc = await resp.json()
        for files in doc["releases"].values():
            for f in files:
                async with http.get(f["url"]) as blob:
                    data = await blob.read()
                found[f["filename"]] = (hashlib.sha256(data).hexdigest(),
                                        hashlib.blake2b(data, digest_size=32).hexdigest())
    return found


def expected_digests(world: World) -> dict[str, tuple[str, str]]:
    return {name: (hashlib.sha256(d).hexdigest(), hashlib.blake2b(d, digest_size=32).hexdigest())
            for name, d in world.files.items()}


async def test_restore_with_two_admins_then_rerun_changes_nothing(
        world_any_store: World, store_url: str) -> None:
    world = world_any_store
    assert await served_digests(world) == {}
    actions, engine = open_actions(world, store_url)
    try:
        incident = await incident_id(actions.sessions)
        run = await actions.request_for_incident("alice", incident, "restore")
        assert run.status == RunStatus.AWAITING_APPROVAL and run.approval_required
        # 1 project + 3 releases + 6 files, each file checked against both digests
        assert [s.action for s in run.steps].count("add-file") == len(world.files) == 6
        assert run.steps[0].action == "create-project"
        with pytest.raises(ApprovalRequired):
            await actions.run(run.id, "alice")
        with pytest.raises(NotAuthorized, match="second, different admin"):
            await actions.approve(run.id, "alice")
        await actions.approve(run.id, "bob", note="checked the incident")
        seen: list[int] = []
        done = await actions.run(run.id, "bob", lambda d, t, s: seen.append(d))
        assert done.status == RunStatus.DONE and done.verified, done.error
        assert seen[-1] == len(done.steps) == 10
        assert await served_digests(world) == expected_digests(world)

        before = index_rows(world)
        assert sorted(a for _, _, a in before["journal"]).count("new release") == 3
        # Asked again before the feed caught up: the index already has every file.
        again = await actions.request("alice", "restore", Target(project=PROJECT),
                                      reason="again")
        assert again.steps == () and not again.approval_required
        assert "6 file(s) are already on the index" in again.plan.text()
        rerun = await actions.run(again.id, "alice")
        resumed = await actions.resume(run.id, "bob")  # the finished run: all steps skipped
        assert rerun.status == resumed.status == RunStatus.DONE
        assert [s.attempts for s in resumed.steps] == [1] * 10

        # The changelog carries the restore, so the feed brings the ledger back too.
        await feed_sync(world.settings)
        async with actions.sessions() as s:
            project = await Ledger(s, TrackedProjects()).project(PROJECT, with_files=True)
            assert project is not None and project.removed_at is None
            assert all(f.removed_at is None for r in project.releases for f in r.files)
            assert (await s.get(Incident, incident)).status == "mitigated"  # type: ignore[union-attr]
        later = await actions.plan("alice", "restore", Target(project=PROJECT))
        assert later.ok and later.steps == () and "not show" in later.text()
        assert index_rows(world) == before
    finally:
        await close_actions(actions, engine)


async def test_dry_run_changes_nothing(world: World, sqlite_url: str) -> None:
    actions, engine = open_actions(world, sqlite_url)
    try:
        before = index_rows(world)
        plan = await actions.plan("alice", "restore", Target(project=PROJECT))
        assert plan.ok and len(plan.steps) == 10
        assert f"create project {PROJECT}" in plan.text()
        assert index_rows(world) == before
        async with actions.sessions() as s:
            assert (await s.execute(sa.select(sa.func.count(PlaybookRun.id)))).scalar() == 0
    finally:
        await close_actions(actions, engine)


async def test_tampered_blob_is_refused_and_skip_missing_restores_the_rest(
        world: World, sqlite_url: str) -> None:
    tampered = f"{PROJECT.replace('-', '_')}-1.1-py3-none-any.whl"
    missing = f"{PROJECT.replace('-', '_')}-2.0.tar.gz"
    blob = world.blob(tampered)
    blob.write_bytes(blob.read_bytes()[:-1] + b"X")
    world.blob(missing).unlink()
    config = PlaybooksSection(approval_waived=["restore"])
    actions, engine = open_actions(world, sqlite_url, config=config)
    try:
        before = index_rows(world)
        with pytest.raises(PlanRefused) as refused:
            await actions.request("alice", "restore", Target(project=PROJECT), reason="r")
        report = "\n".join(refused.value.plan.blockers)
        assert f"{tampered}: mismatch" in report and "sha256 is" in report
        assert "blake2b_256 is" in report
        assert f"{missing}: missing" in report and "nothing will be restored" in report
        assert index_rows(world) == before
        async with actions.sessions() as s:
            entry = (await s.execute(sa.select(AuditEntry).where(
                AuditEntry.outcome == "refused"))).scalar_one()
            assert entry.actor == "alice" and entry.detail["blockers"]

        run = await actions.request("alice", "restore", Target(project=PROJECT), reason="r",
                                    options={"skip_missing": True})
        assert "skipped (--skip-missing)" in run.plan.text()
        done = await actions.run(run.id, "alice")
        assert done.status == RunStatus.DONE and done.verified
        restored = await served_digests(world)
        assert set(restored) == set(world.files) - {tampered, missing}
        assert all(restored[n] == d for n, d in expected_digests(world).items() if n in restored)
    finally:
        await close_actions(actions, engine)


async def test_blob_changed_after_plan_fails_the_step_then_resume_finishes(
        world: World, sqlite_url: str) -> None:
    config = PlaybooksSection(two_admin_approval=False)
    planner, planner_engine = open_actions(world, sqlite_url, config=config)
    run = await planner.request("bob", "restore", Target(project=PROJECT), reason="r")
    await close_actions(planner, planner_engine)
    # Applied by another process (here: another Actions), which reads storage again.
    actions, engine = open_actions(world, sqlite_url, config=config)
    try:
        last = run.steps[-1].key.removeprefix("file:")
        original = world.blob(last).read_bytes()
        world.blob(last).write_bytes(b"evil" + original)
        failed = await actions.run(run.id, "bob")
        assert failed.status == RunStatus.FAILED
        assert "no longer matches the ledger" in (failed.error or "")
        assert [s.state for s in failed.steps].count("done") == len(failed.steps) - 1
        assert len(await served_digests(world)) == 5  # the report says which one is not

        world.blob(last).write_bytes(original)
        resumed = await actions.resume(run.id, "alice")
        assert resumed.status == RunStatus.DONE and resumed.verified
        assert await served_digests(world) == expected_digests(world)
        assert [s.attempts for s in resumed.steps][-1] == 2
    finally:
        await close_actions(actions, engine)


async def test_unauthorized_actor_is_refused_and_audited(world: World, sqlite_url: str) -> None:
    actions, engine = open_actions(world, sqlite_url)
    try:
        before = index_rows(world)
        with pytest.raises(NotAuthorized, match="not an admin"):
            await actions.request("mallory", "restore", Target(project=PROJECT), reason="me")
        run = await actions.request("alice", "restore", Target(project=PROJECT), reason="r")
        with pytest.raises(NotAuthorized):
            await actions.approve(run.id, "mallory")
        with pytest.raises(NotAuthorized):
            await actions.run(run.id, "mallory")
        assert index_rows(world) == before
        async with actions.sessions() as s:
            refused = (await s.execute(sa.select(AuditEntry.actor, AuditEntry.action).where(
                AuditEntry.outcome == "refused").order_by(AuditEntry.id))).all()
        assert refused == [("mallory", "playbook.request"), ("mallory", "playbook.approve"),
                           ("mallory", "playbook.run")]
        assert "mallory" not in ADMINS
    finally:
        await close_actions(actions, engine)


async def test_release_and_file_scopes_and_earlier_removals(
        index_double: IndexDouble, sqlite_url: str, no_env: None) -> None:
    """A live project losing one release and one file; an earlier deliberate removal
    stays removed when the whole project is restored later."""
    store = index_double.store
    store.add_user("alice", "alice@example.org")
    store.create_project(PROJECT, "alice")
    files: dict[str, bytes] = {}
    for version in ("1.0", "1.1", "2.0"):
        dists = release_files(PROJECT, version)
        files.update(dists)
        store.add_release(PROJECT, version, dists, uploader="alice")
    settings = settings_for(sqlite_url, index_double.url)
    await feed_sync(settings)
    sdist_10, wheel_20 = (f"{PROJECT.replace('-', '_')}-1.0.tar.gz",
                          f"{PROJECT.replace('-', '_')}-2.0-py3-none-any.whl")
    store.remove_file(PROJECT, "1.0", sdist_10)  # deliberately, long before
    await feed_sync(settings)
    store.remove_release(PROJECT, "1.1")
    store.remove_file(PROJECT, "2.0", wheel_20)
    await feed_sync(settings)
    world = World(index_double, settings, files, ["1.0", "1.1", "2.0"])
    actions, engine = open_actions(world, sqlite_url,
                                   config=PlaybooksSection(two_admin_approval=False))
    try:
        nothing = await actions.plan("alice", "restore", Target(project=PROJECT))
        assert nothing.ok and nothing.steps == ()
        release = await actions.request("alice", "restore",
                                        Target(project=PROJECT, version="1.1"), reason="r")
        assert [s.action for s in release.steps] == ["create-release", "add-file", "add-file"]
        single = await actions.request("alice", "restore",
                                       Target(project=PROJECT, filename=wheel_20), reason="r")
        assert [s.key for s in single.steps] == [f"file:{wheel_20}"]
        for run in (release, single):
            assert (await actions.run(run.id, "alice")).status == RunStatus.DONE
        assert set(await served_digests(world)) == set(files) - {sdist_10}
        await feed_sync(settings)  # the ledger sees them back

        store.remove_project(PROJECT)
        await feed_sync(settings)
        whole = await actions.request("alice", "restore", Target(project=PROJECT), reason="r")
        assert "1 file(s) removed before this removal stay removed" in whole.plan.text()
        assert (await actions.run(whole.id, "alice")).status == RunStatus.DONE
        assert set(await served_digests(world)) == set(files) - {sdist_10}
    finally:
        await close_actions(actions, engine)
