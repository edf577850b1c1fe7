"""restore brings back one point in time (issue 17, item 1): the state just before the
removal it answers, from the ledger's history, through the real feed and index double.

A release removed on purpose earlier stays removed (with its files) unless
--include-earlier; the roles are those held just before the removal (not one removed
before, not one granted after); a role an open ownership-change incident questions is
left out (the plan names the incident) unless --include-questioned; the plan says which
point it restores; a run that re-creates a release whose own removal incident is open
settles that incident.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.actions import Actions
from bot.incidents import Status
from bot.store.migrate import upgrade_async
from bot.store.models import Incident, LedgerChange
from bot.store.playbook_models import RunStatus
from playbooks.base import Plan, Target
from playbooks.settings import PlaybooksSection
from tests.bot.cli.test_playbooks import environment
from tests.playbooks.test_restore import served_digests
from tests.support.cli import warden
from tests.support.dists import release_files
from tests.support.indexdouble import IndexDouble
from tests.support.world import (
    PROJECT,
    T0,
    World,
    close_actions,
    feed_sync,
    open_actions,
    settings_for,
)

pytestmark = pytest.mark.service

VERSIONS = ("1.0", "1.1", "2.0")


async def _incident(actions: Actions, kind: str, subject: str) -> Incident:
    async with actions.sessions() as s:
        found = (await s.execute(sa.select(Incident).where(
            Incident.kind == kind, Incident.subject == subject)
            .order_by(Incident.id.desc()))).scalars().first()
    assert found is not None, f"no {kind} incident on {subject}"
    return found


async def _status(actions: Actions, incident_id: int) -> str:
    async with actions.sessions() as s:
        incident = await s.get(Incident, incident_id)
        assert incident is not None
        return incident.status


def _roles(plan: Plan) -> list[list[str]]:
    create = [s for s in plan.steps if s.action == "create-project"]
    assert len(create) == 1, plan.text()
    roles: list[list[str]] = create[0].data["roles"]
    return roles


def _versions(plan: Plan) -> set[str]:
    return {s.data["version"] for s in plan.steps if s.action == "create-release"}


def _files(plan: Plan) -> set[str]:
    return {s.data["filename"] for s in plan.steps if s.action == "add-file"}


async def _project_world(double: IndexDouble, sqlite_url: str) -> World:
    """alice owns the project (releases 1.0, 1.1, 2.0); the feed follows from serial 0."""
    store = double.store
    for user in ("alice", "bob", "carol", "dave"):
        store.add_user(user, f"{user}@example.org", at=T0)
    store.create_project(PROJECT, "alice", at=T0)
    files: dict[str, bytes] = {}
    for i, version in enumerate(VERSIONS):
        dists = release_files(PROJECT, version)
        files.update(dists)
        store.add_release(PROJECT, version, dists, uploader="alice",
                          at=T0 + timedelta(days=i))
    settings = settings_for(sqlite_url, double.url)
    await feed_sync(settings)
    return World(double, settings, files, list(VERSIONS))


async def test_project_restore_is_the_state_just_before_its_removal(
        index_double: IndexDouble, sqlite_url: str, no_env: None) -> None:
    world = await _project_world(index_double, sqlite_url)
    store, settings = index_double.store, world.settings
    actions, engine = open_actions(world, sqlite_url,
                                   config=PlaybooksSection(two_admin_approval=False))
    subject = f"project:{PROJECT}"
    try:
        # bob held a role and lost it before the removal (his incident is settled).
        store.add_role(PROJECT, "bob", "Maintainer", actor="alice")
        await feed_sync(settings)
        bob_incident = await _incident(actions, "ownership-change", subject)
        await actions.resolve(bob_incident.id, "alice", note="bob is a colleague")
        store.remove_role(PROJECT, "bob", actor="alice")
        # Release 1.1 removed on its own, on purpose: its own incident stays open.
        store.remove_release(PROJECT, "1.1", actor="alice")
        await feed_sync(settings)
        release_incident = await _incident(actions, "release-removed", f"{subject}@1.1")
        # carol gains a role: an open ownership-change incident questions it.
        store.add_role(PROJECT, "carol", "Maintainer", actor="alice")
        await feed_sync(settings)
        carol_incident = await _incident(actions, "ownership-change", subject)
        assert carol_incident.id != bob_incident.id
        assert "carol" in carol_incident.summary
        # Then the whole project goes.
        removal_serial = store.remove_project(PROJECT, actor="alice")
        await feed_sync(settings)
        removed = await _incident(actions, "project-removed", subject)

        plan = await actions.plan("alice", "restore", Target(project=PROJECT),
                                  incident_id=removed.id)
        text = plan.text()
        assert plan.ok, text
        assert f"restores: {PROJECT} as it was just before changelog serial " \
               f"{removal_serial} (" in text and "which removed the project" in text
        assert _roles(plan) == [["Owner", "alice"]]  # not bob (gone), not carol (questioned)
        assert _versions(plan) == {"1.0", "2.0"}
        names_11 = {n for n in world.files if "-1.1" in n}
        assert _files(plan) == set(world.files) - names_11
        assert "release 1.1 stays removed: removed with its release (serial " in text
        assert f"its removal incident #{release_incident.id} is open" in text
        assert "--include-earlier restores it too" in text
        assert f"role Maintainer of carol left out: questioned by incident " \
               f"#{carol_incident.id} (critical / ownership-change" in text
        assert plan.answers == ()
        # The change count the text states is the number of steps it lists.
        assert f"{len(plan.steps)} change(s):" in text
        assert len(re.findall(r"^ +\d+\. ", text, re.M)) == len(plan.steps)

        wide = await actions.request(
            "alice", "restore", Target(project=PROJECT), reason="everything",
            options={"include_earlier": True, "include_questioned": True},
            incident_id=removed.id)
        assert sorted(map(tuple, _roles(wide.plan))) == [("Maintainer", "carol"),
                                                           ("Owner", "alice")]
        assert _versions(wide.plan) == set(VERSIONS)
        assert _files(wide.plan) == set(world.files)
        assert wide.plan.answers == (release_incident.id,)
        assert f"also settles open incident(s) #{release_incident.id}" in wide.plan.text()

        done = await actions.run(wide.id, "alice")
        assert done.status == RunStatus.DONE and done.verified, done.error
        assert set(await served_digests(world)) == set(world.files)
        assert await _status(actions, removed.id) == Status.MITIGATED.value
        assert await _status(actions, release_incident.id) == Status.MITIGATED.value
        assert await _status(actions, carol_incident.id) == Status.OPEN.value
    finally:
        await close_actions(actions, engine)


async def test_release_restore_takes_the_roles_of_its_own_point(
        index_double: IndexDouble, sqlite_url: str, no_env: None) -> None:
    """Answering the earlier release removal after the project went too: the project is
    re-created with the roles held before the release removal (dave's later grant is not
    part of it), and only that release comes back."""
    world = await _project_world(index_double, sqlite_url)
    store, settings = index_double.store, world.settings
    actions, engine = open_actions(world, sqlite_url,
                                   config=PlaybooksSection(two_admin_approval=False))
    subject = f"project:{PROJECT}"
    try:
        release_serial = store.remove_release(PROJECT, "1.1", actor="alice")
        await feed_sync(settings)
        release_incident = await _incident(actions, "release-removed", f"{subject}@1.1")
        store.add_role(PROJECT, "dave", "Owner", actor="alice")
        await feed_sync(settings)
        await actions.resolve((await _incident(actions, "ownership-change", subject)).id,
                              "alice", note="dave is expected")
        store.remove_project(PROJECT, actor="dave")
        await feed_sync(settings)
        removed = await _incident(actions, "project-removed", subject)

        at_release = await actions.plan("alice", "restore", Target(project=PROJECT,
                                                                    version="1.1"),
                                         incident_id=release_incident.id)
        assert at_release.ok, at_release.text()
        assert _roles(at_release) == [["Owner", "alice"]]
        assert _versions(at_release) == {"1.1"}
        assert f"just before changelog serial {release_serial} (" in at_release.text()
        assert "which removed release 1.1" in at_release.text()

        at_project = await actions.plan("alice", "restore", Target(project=PROJECT),
                                        incident_id=removed.id)
        assert sorted(map(tuple, _roles(at_project))) == [("Owner", "alice"),
                                                           ("Owner", "dave")]
        assert _versions(at_project) == {"1.0", "2.0"}
    finally:
        await close_actions(actions, engine)


async def test_cli_restore_include_earlier(
        index_double: IndexDouble, sqlite_url: str, no_env: None, tmp_path: Path) -> None:
    """`warden restore --dry-run` as a process: the earlier release stays out, and
    --include-earlier brings it (and its files) into the plan."""
    world = await _project_world(index_double, sqlite_url)
    store, settings = index_double.store, world.settings
    store.remove_release(PROJECT, "1.1", actor="alice")
    await feed_sync(settings)
    store.remove_project(PROJECT, actor="alice")
    await feed_sync(settings)
    env = environment(world, sqlite_url)
    base = ("restore", PROJECT, "--dry-run", "--actor", "alice")
    code, out, err = await warden(env, tmp_path, *base)
    assert code == 0, err
    assert "release 1.1 stays removed" in out
    assert f"create release {PROJECT} 1.1" not in out
    code, out, err = await warden(env, tmp_path, *base, "--include-earlier")
    assert code == 0, err
    assert f"create release {PROJECT} 1.1" in out
    assert sum(f"add file {n}" in out for n in world.files) == len(world.files)


async def test_history_seeded_by_migration_0010_gives_the_same_point(
        index_double: IndexDouble, sqlite_url: str, no_env: None) -> None:
    """A store from before the history was kept: migration 0010 seeds ledger_changes from
    the ledger's rows (role grants with their serial, removals by time), and the restore
    still leaves out the release and the role removed before the project's removal."""
    world = await _project_world(index_double, sqlite_url)
    store, settings = index_double.store, world.settings
    later = T0 + timedelta(days=30)
    store.add_role(PROJECT, "bob", "Maintainer", actor="alice", at=later)
    store.remove_role(PROJECT, "bob", actor="alice", at=later + timedelta(days=1))
    store.remove_release(PROJECT, "1.1", actor="alice", at=later + timedelta(days=2))
    removal_serial = store.remove_project(PROJECT, actor="alice", at=later + timedelta(days=3))
    await feed_sync(settings)
    # As before migration 0010: no history table, the revision not applied.
    path = sqlite_url.removeprefix("sqlite+aiosqlite:///")
    with sa.create_engine(f"sqlite:///{path}").begin() as c:
        c.execute(sa.text("DROP TABLE ledger_changes"))
        c.execute(sa.text("DELETE FROM alembic_version WHERE version_num = "
                          "'0010_ledger_history'"))
    await upgrade_async(sqlite_url)
    actions, engine = open_actions(world, sqlite_url)
    try:
        async with actions.sessions() as s:
            seeded = (await s.execute(sa.select(LedgerChange.kind, LedgerChange.username,
                                                LedgerChange.version, LedgerChange.serial)
                                      )).all()
        assert ("remove_project", None, None, removal_serial) in seeded
        assert ("remove_release", None, "1.1", None) in seeded
        assert ("role_remove", "bob", None, None) in seeded
        # bob's own incident is open: asking for questioned roles too shows that his
        # role is out because it was removed before, not because it is questioned.
        plan = await actions.plan("alice", "restore", Target(project=PROJECT),
                                  options={"include_questioned": True})
        assert plan.ok, plan.text()
        assert f"just before changelog serial {removal_serial} (" in plan.text()
        assert _roles(plan) == [["Owner", "alice"]]
        assert _versions(plan) == {"1.0", "2.0"}
        assert "release 1.1 stays removed" in plan.text()
    finally:
        await close_actions(actions, engine)
