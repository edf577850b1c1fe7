"""Every playbook through the ``warehouse`` backend against Warehouse's real schema.

Each test seeds rows as Warehouse writes them (tests.support.warehouse_db.Seeder), runs a playbook through the
actions door, and asserts the complete difference it made to the database: the columns,
enum values, journal action strings and events Warehouse's own view writes (cited per
test, pypi/warehouse 6b62157), and nothing else. Then it re-runs the plan (no steps) and
re-applies every step of the stored plan (each reports no change): the database is left
exactly as it was.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions import Actions, PlanRefused, RunView
from bot.store.db import create_engine, session_factory
from bot.store.playbook_models import RunStatus
from playbooks.base import PlaybookContext, Target
from playbooks.index_admin.warehouse import WarehouseAdmin
from playbooks.index_admin.warehouse_records import JOURNAL_LOCK
from playbooks.settings import PlaybooksSection
from playbooks.storage.filesystem import FilesystemStorage
from playbooks.wiring import Backends
from tests.support.dists import release_files, wheel
from tests.support.warehouse_db import Seeder, TableDiff, diff, dsn, feed_ledger, pick, recent, snapshot

pytestmark = pytest.mark.service
ONE_ADMIN = PlaybooksSection(two_admin_approval=False)
REPORT_URL = "https://inspector.pypi.io/project/evil-pkg/2.0/"


@dataclass
class Wh:
    url: str
    seed: Seeder
    actions: Actions
    sessions: async_sessionmaker[AsyncSession]
    ids: dict[str, uuid.UUID]

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return list(await self.seed.conn.fetch(sql, *args))


async def _world(url: str, store_url: str, files: Path, config: PlaybooksSection,
                 admin_url: str | None = None,
                 ) -> tuple[Seeder, Actions, async_sessionmaker[AsyncSession], dict[str, Any]]:
    """Seeded as the database's owner; the backend connects as ``admin_url`` if given."""
    seed = Seeder(await asyncpg.connect(dsn(url)), files)
    ids = {
        "admin": await seed.user("admin", ("admin@pypi.example", True)),
        "bob": await seed.user("bob", ("bob@pypi.example", True)),  # an admin with an account
        "mallory": await seed.user("mallory", ("mallory@evil.example", True),
                                   ("mallory@mail.example", True), ("old@gone.example", False)),
        "carol": await seed.user("carol", ("carol@mail.example", True)),  # shares mail.example
        "dave": await seed.user("dave", ("dave@evil.example", True), active=False),
        "reporter": await seed.user("reporter", ("r@sec.example", True)),
    }
    ids["project"] = await seed.project("evil-pkg", "mallory")
    await seed.release("evil-pkg", "1.0", "mallory", release_files("evil-pkg", "1.0", 300))
    await seed.release("evil-pkg", "2.0", "mallory", [wheel("evil-pkg", "2.0", 500)],
                       requires_python=">=3.8")
    ids["report"] = await seed.malware_report("evil-pkg", "reporter", REPORT_URL)
    sessions = session_factory(create_engine(store_url))
    storage = FilesystemStorage(files)
    admin = await WarehouseAdmin.connect(admin_url or url, storage)
    return seed, Actions(sessions, Backends(admin, storage), config, ["alice", "bob"]), \
        sessions, ids


@pytest.fixture
async def wh(warehouse_url: str, sqlite_url: str, tmp_path: Path) -> AsyncIterator[Wh]:
    seed, actions, sessions, ids = await _world(warehouse_url, sqlite_url, tmp_path / "files",
                                                ONE_ADMIN)
    try:
        yield Wh(warehouse_url, seed, actions, sessions, ids)
    finally:
        await actions.backends.close()
        await seed.conn.close()


async def _noop_again(wh: Wh, done: RunView, actor: str, options: dict[str, Any]) -> None:
    """Planning again finds nothing to do; applying every stored step again changes
    nothing (each step says so) and the database is identical afterwards."""
    before = await snapshot(wh.url)
    again = await wh.actions.plan(actor, done.playbook, done.plan.target,
                                  reason=done.plan.reason, options=options)
    assert again.ok and again.steps == (), again.text()
    a = wh.actions
    ctx = PlaybookContext(a.sessions, a.backends.admin, a.backends.storage, actor,
                          a.store.last_plan)
    for step in done.plan.steps:
        assert not (await a.playbooks[done.playbook].apply_step(step, ctx)).changed, step.key
    assert await snapshot(wh.url) == before


async def run(wh: Wh, playbook: str, target: Target, *, actor: str = "alice",
              reason: str = "incident 7", approver: str | None = None, **options: Any
              ) -> tuple[RunView, dict[str, TableDiff]]:
    before = await snapshot(wh.url)
    requested = await wh.actions.request(actor, playbook, target, reason=reason,
                                         options=options)
    runner = actor
    if approver is not None:
        await wh.actions.approve(requested.id, approver)
        runner = approver
    done = await wh.actions.run(requested.id, runner)
    assert done.status == RunStatus.DONE and done.verified, (done.error, done.verification)
    changes = diff(before, await snapshot(wh.url))
    await _noop_again(wh, done, runner, options)
    return done, changes


def journal(d: dict[str, TableDiff]) -> list[tuple[Any, ...]]:
    return sorted(((r["name"], r["version"], r["action"], r["submitted_by"])
                   for r in d["journals"].added), key=repr)


def only_last_serial(d: TableDiff) -> bool:
    return not d.added and not d.removed and all(set(c) == {"last_serial"} for c in d.changed)


# -- yank / unyank (manage/views/__init__.py yank_project_release, unyank_project_release) --


async def test_yank_and_unyank_as_warehouse(wh: Wh) -> None:
    _, d = await run(wh, "yank", Target(project="evil-pkg", version="1.0"),
                     reason="steals credentials")
    assert set(d) == {"releases", "project_events", "journals", "projects"}
    assert only_last_serial(d["projects"])
    [change] = d["releases"].changed
    assert set(change) == {"yanked", "yanked_reason", "yanked_date", "lifecycle_status_changed"}
    assert change["yanked"] == (False, True)
    assert change["yanked_reason"] == ("", "steals credentials")
    assert change["yanked_date"][0] is None and recent(change["yanked_date"][1])
    # "alice" has no Warehouse account: the service account "admin" is the author.
    assert journal(d) == [("evil-pkg", "1.0", "yank release", "admin")]
    assert pick(d["project_events"].added, "source_id", "tag", "additional", "ip_address_id") == [
        (wh.ids["project"], "project:release:yank",
         {"submitted_by": "admin", "canonical_version": "1", "yanked_reason": "steals credentials"},
         None)]

    _, d = await run(wh, "unyank", Target(project="evil-pkg", version="1.0"), actor="bob")
    [change] = d["releases"].changed
    assert change["yanked"] == (True, False) and change["yanked_reason"] == ("steals credentials",
                                                                              "")
    assert change["yanked_date"][1] is None
    # "bob" has an account of his own: he is the author.
    assert journal(d) == [("evil-pkg", "1.0", "unyank release", "bob")]
    assert pick(d["project_events"].added, "tag", "additional") == [
        ("project:release:unyank", {"submitted_by": "bob", "canonical_version": "1"})]


# -- freeze (admin/views/users.py user_freeze) / unfreeze ----------------------------------


async def test_freeze_prohibits_the_verified_domains_but_not_shared_ones(wh: Wh) -> None:
    done, d = await run(wh, "freeze", Target(account="mallory"), reason="domain taken over")
    assert set(d) == {"users", "prohibited_email_domains"}
    assert d["users"].changed == [{"is_frozen": (False, True)}]
    [row] = d["prohibited_email_domains"].added
    assert (row["domain"], row["comment"], row["prohibited_by"], row["is_mx_record"]) == (
        "evil.example", "frozen", wh.ids["admin"], False)
    assert recent(row["created"])
    text = done.plan.text()
    # dave also has evil.example, but his account is inactive: not a shared provider.
    assert "prohibit email domain evil.example" in text
    assert "email domain mail.example NOT prohibited: 1 other active account(s) verify with " \
           "it (carol)" in text and "--prohibit-shared-domains" in text
    assert "gone.example" not in text  # unverified addresses do not count

    _, d = await run(wh, "unfreeze", Target(account="mallory"), reason="owner proved identity")
    assert set(d) == {"users"} and d["users"].changed == [{"is_frozen": (True, False)}]

    done, d = await run(wh, "freeze", Target(account="mallory"), actor="bob",
                        reason="again, with everything", prohibit_shared_domains=True)
    assert pick(d["prohibited_email_domains"].added, "domain", "prohibited_by") == [
        ("mail.example", wh.ids["bob"])]
    assert "although 1 other active account(s) use it (carol)" in done.plan.text()
    assert "email domain evil.example is already prohibited" in done.plan.text()


async def test_unfreeze_says_which_domains_stay_prohibited(wh: Wh) -> None:
    await run(wh, "freeze", Target(account="mallory"), reason="domain taken over")
    plan = await wh.actions.plan("alice", "unfreeze", Target(account="mallory"), reason="ok")
    assert "email domain(s) prohibited by the freeze stay prohibited: evil.example" in plan.text()


# -- unverify (accounts/tasks.py unverify_emails_with_expired_domains) ----------------------


async def test_unverify_as_warehouse(wh: Wh) -> None:
    _, d = await run(wh, "unverify-email", Target(email="Mallory@evil.example"),
                     reason="domain re-registered")
    assert set(d) == {"user_emails", "user_observations", "observers", "observer_association",
                      "users"}
    assert d["user_emails"].changed == [{"verified": (True, False),
                                         "unverify_reason": (None, "domain status invalid")}]
    [obs] = d["user_observations"].added
    assert (obs["related_id"], obs["related_name"], obs["kind"], obs["summary"]) == (
        wh.ids["mallory"], "User(username='mallory')", "email_unverified",
        "Email domain status invalid: domain re-registered")
    assert obs["payload"] == {"email": "mallory@evil.example", "domain": "evil.example",
                              "domain_last_status": None, "domain_last_checked": "None"}
    assert obs["actions"] == {} and obs["additional"] == {}
    # The admin account observes for the first time: it gets its observer, as Warehouse's
    # record_observation creates one (actor.observer = Observer()).
    [association] = d["observer_association"].added
    [observer] = d["observers"].added
    assert association["discriminator"] == "user"
    assert observer["_association_id"] == association["id"] == \
        d["users"].changed[0]["observer_association_id"][1]
    assert obs["observer_id"] == observer["id"]


# -- quarantine / unquarantine (utils/project.py) ----------------------------------------


async def test_quarantine_and_unquarantine_a_project(wh: Wh) -> None:
    done, d = await run(wh, "quarantine", Target(project="evil-pkg"))
    assert "also freezes the accounts with a role on it: mallory" in done.plan.text()
    assert set(d) == {"projects", "project_events", "journals", "users"}
    [change] = d["projects"].changed
    assert change["lifecycle_status"] == (None, "quarantine-enter")
    assert change["lifecycle_status_note"] == (None, "Quarantined by admin.")
    assert set(change) == {"lifecycle_status", "lifecycle_status_note",
                           "lifecycle_status_changed", "last_serial"}
    assert pick(d["project_events"].added, "tag", "additional") == [
        ("project:quarantine:enter", {"submitted_by": "admin"})]
    assert journal(d) == [("evil-pkg", None, "project quarantined", "admin")]
    assert d["users"].changed == [{"is_frozen": (False, True)}]

    done, d = await run(wh, "unquarantine", Target(project="evil-pkg"), actor="bob")
    assert "accounts with a role on it stay frozen: mallory" in done.plan.text()
    assert set(d) == {"projects", "project_events", "journals"}
    [change] = d["projects"].changed
    assert change["lifecycle_status"] == ("quarantine-enter", "quarantine-exit")
    assert change["lifecycle_status_note"] == ("Quarantined by admin.",
                                               "Quarantine cleared by bob.")
    assert journal(d) == [("evil-pkg", None, "project quarantine cleared", "bob")]
    assert pick(d["project_events"].added, "tag", "additional") == [
        ("project:quarantine:exit", {"submitted_by": "bob"})]


async def test_quarantine_and_unquarantine_one_release(wh: Wh) -> None:
    done, d = await run(wh, "quarantine", Target(project="evil-pkg", version="2.0"))
    assert "the other releases stay installable and nobody is frozen" in done.plan.text()
    assert set(d) == {"releases", "project_events", "journals", "projects"}
    assert only_last_serial(d["projects"])  # the project itself stays as it was
    [change] = d["releases"].changed
    assert change["lifecycle_status"] == (None, "quarantine-enter")
    assert change["lifecycle_status_note"] == (None, "Quarantined by admin.")
    assert set(change) == {"lifecycle_status", "lifecycle_status_note",
                           "lifecycle_status_changed"}
    assert journal(d) == [("evil-pkg", "2.0", "release quarantined", "admin")]
    assert pick(d["project_events"].added, "tag", "additional") == [
        ("project:release:quarantine:enter",
         {"submitted_by": "admin", "canonical_version": "2", "version": "2.0"})]
    project = await wh.actions.backends.admin.project("evil-pkg")
    assert project is not None and not project.quarantined
    assert project.releases["2.0"].quarantined and not project.releases["1.0"].quarantined
    # Warehouse's yank view refuses a quarantined release; so does the plan.
    with pytest.raises(PlanRefused, match="is in quarantine"):
        await wh.actions.request("alice", "yank", Target(project="evil-pkg", version="2.0"),
                                 reason="x")

    _, d = await run(wh, "unquarantine", Target(project="evil-pkg", version="2.0"))
    [change] = d["releases"].changed
    assert change["lifecycle_status"] == ("quarantine-enter", "quarantine-exit")
    assert change["lifecycle_status_note"][1] == "Quarantine cleared by admin."
    assert journal(d) == [("evil-pkg", "2.0", "release quarantine cleared", "admin")]
    assert pick(d["project_events"].added, "tag", "additional") == [
        ("project:release:quarantine:exit",
         {"submitted_by": "admin", "canonical_version": "2", "version": "2.0"})]


async def test_the_old_name_release_quarantine_still_resolves(wh: Wh) -> None:
    await run(wh, "quarantine", Target(project="evil-pkg"))
    done, _ = await run(wh, "release-quarantine", Target(project="evil-pkg"))
    assert done.playbook == "unquarantine"


# -- remove as malware, and the restore round trip ---------------------------------------


async def _sizes(wh: Wh) -> tuple[int | None, int]:
    total = await wh.seed.conn.fetchval("SELECT total_size FROM projects WHERE name = 'evil-pkg'")
    files = await wh.seed.conn.fetchval(
        "SELECT coalesce(sum(f.size), 0) FROM release_files f JOIN releases r ON "
        "r.id = f.release_id JOIN projects p ON p.id = r.project_id WHERE p.name = 'evil-pkg'")
    return total, int(files)


async def test_remove_malware_then_restore_round_trip(warehouse_url: str, sqlite_url: str,
                                                      tmp_path: Path) -> None:
    seed, actions, sessions, ids = await _world(warehouse_url, sqlite_url, tmp_path / "files",
                                                PlaybooksSection())  # two admins
    wh = Wh(warehouse_url, seed, actions, sessions, ids)
    try:
        serial = await feed_ledger(sessions, warehouse_url, "evil-pkg")
        total, files = await _sizes(wh)
        assert total == files > 0
        before = await snapshot(warehouse_url)
        done, d = await run(wh, "remove-malware", Target(project="evil-pkg"),
                            reason="confirmed malware", approver="bob")
        text = done.plan.text()
        assert [s.action for s in done.plan.steps] == [
            "freeze-for-malware", "record-verdict", "prohibit-project-name", "remove-project"]
        assert "undo: warden restore evil-pkg" in text
        # remove_malware_for_project: users frozen with an account_abuse observation ...
        assert ("is_frozen", (False, True)) in d["users"].changed[0].items()
        abuse = [o for o in d["user_observations"].added if o["kind"] == "account_abuse"]
        assert pick(abuse, "related_id", "related_name", "summary", "payload") == [
            (ids["mallory"], "User(username='mallory')", "Account frozen due to malware report",
             {"project_name": "evil-pkg"})]
        # ... the verdict on every is_malware report, keyed by UNIX time ...
        [report] = d["project_observations"].changed
        assert report["related_id"] == (ids["project"], None)  # the ORM's delete-orphan null
        [(stamp, verdict)] = report["actions"][1].items()
        assert stamp.isdigit() and set(verdict) == {"actor", "action", "created_at"}
        assert (verdict["actor"], verdict["action"]) == ("bob", "remove_malware")
        # ... prohibit_and_remove_project: the prohibited name, then remove_project.
        assert pick(d["prohibited_project_names"].added, "name", "comment", "observation_kind",
                    "prohibited_by") == [("evil-pkg", "", "is_malware", ids["bob"])]
        assert journal(d) == [("evil-pkg", None, "remove project", "bob")]
        for table, count in (("projects", 1), ("releases", 2), ("release_files", 3),
                             ("release_descriptions", 2), ("roles", 1), ("file_events", 3),
                             ("release_dependencies", 2)):
            assert len(d[table].removed) == count, table
        assert set(d) == {"users", "user_observations", "observers", "observer_association",
                          "project_observations", "prohibited_project_names", "journals",
                          "projects", "releases", "release_files", "release_descriptions",
                          "release_dependencies", "roles", "project_events", "file_events"}

        # The feed sees "remove project"; restore puts it all back (and lifts the name).
        await feed_ledger(sessions, warehouse_url, "evil-pkg", since=serial)
        done, d = await run(wh, "restore", Target(project="evil-pkg"), reason="a mistake",
                            approver="bob")
        text = done.plan.text()
        assert text.index("allow the name evil-pkg again") < text.index("create project")
        assert "account mallory stays frozen" in text
        assert d["prohibited_project_names"].removed and "prohibited_project_names" not in \
            diff(before, await snapshot(warehouse_url))
        total, files = await _sizes(wh)
        assert total == files == sum(r["size"] for r in before["release_files"].values())
        assert journal(d) == sorted([
            ("evil-pkg", None, "create", "bob"), ("evil-pkg", None, "add Owner mallory", "bob"),
            ("evil-pkg", "1.0", "new release", "bob"), ("evil-pkg", "2.0", "new release", "bob"),
            ("evil-pkg", "1.0", "add source file evil_pkg-1.0.tar.gz", "bob"),
            ("evil-pkg", "1.0", "add py3 file evil_pkg-1.0-py3-none-any.whl", "bob"),
            ("evil-pkg", "2.0", "add py3 file evil_pkg-2.0-py3-none-any.whl", "bob")], key=repr)
        restored = {r["filename"]: (r["sha256_digest"], r["blake2_256_digest"], r["path"],
                                    r["size"], r["md5_digest"])
                    for r in (await snapshot(warehouse_url))["release_files"].values()}
        assert restored == {r["filename"]: (r["sha256_digest"], r["blake2_256_digest"],
                                            r["path"], r["size"], r["md5_digest"])
                            for r in before["release_files"].values()}
        [project] = d["projects"].added
        assert (project["name"], project["normalized_name"]) == ("evil-pkg", "evil-pkg")
        assert project["sitemap_bucket"]  # Warehouse's trigger filled it
        releases = {r["version"]: r for r in d["releases"].added}
        assert (releases["1.0"]["requires_python"], releases["2.0"]["requires_python"]) == (
            None, ">=3.8")
        assert not releases["1.0"]["is_prerelease"]  # by Warehouse's trigger
        assert (releases["1.0"]["_pypi_ordering"], releases["2.0"]["_pypi_ordering"]) == (0, 1)
        assert releases["1.0"]["canonical_version"] == "1"
        assert pick(d["project_events"].added, "tag") == sorted(
            [("project:create",), ("project:role:add",), ("project:release:add",),
             ("project:release:add",)], key=repr)
        assert pick(d["user_events"].added, "tag", "additional") == [
            ("account:role:add", {"submitted_by": "bob", "project_name": "evil-pkg",
                                  "role_name": "Owner"})]
        assert {r["tag"] for r in d["file_events"].added} == {"file:add"}
        assert "file_registry" not in d  # the filenames were never forgotten
        assert "users" not in d
        frozen = await wh.seed.conn.fetchval("SELECT is_frozen FROM users WHERE "
                                             "username = 'mallory'")
        assert frozen  # unfreeze is a separate, deliberate step
    finally:
        await actions.backends.close()
        await seed.conn.close()


async def test_remove_one_release_as_malware_then_restore_it(wh: Wh) -> None:
    serial = await feed_ledger(wh.sessions, wh.url, "evil-pkg")
    with pytest.raises(PlanRefused, match="needs a reason"):
        await wh.actions.request("alice", "remove-malware",
                                 Target(project="evil-pkg", version="2.0"), reason=" ")
    done, d = await run(wh, "remove-malware", Target(project="evil-pkg", version="2.0"),
                        reason="2.0 steals tokens")
    assert "the owners are not frozen" in done.plan.text()
    assert set(d) == {"releases", "release_files", "release_descriptions",
                      "release_dependencies", "file_events", "project_events", "journals",
                      "projects", "project_observations"}
    assert pick(d["releases"].removed, "version") == [("2.0",)]
    assert journal(d) == [("evil-pkg", "2.0", "remove release", "admin")]
    assert pick(d["project_events"].added, "tag", "additional") == [
        ("project:release:remove", {"submitted_by": "admin", "canonical_version": "2",
                                    "reason": "2.0 steals tokens"})]
    [report] = d["project_observations"].changed
    assert set(report) == {"actions"}  # the project stays: so does the report's link
    [verdict] = report["actions"][1].values()
    assert {k: verdict[k] for k in ("actor", "action", "versions", "reason")} == {
        "actor": "admin", "action": "remove_release", "versions": ["2.0"],
        "reason": "2.0 steals tokens"}
    assert [set(c) for c in d["projects"].changed] == [{"total_size", "last_serial"}]
    total, files = await _sizes(wh)
    assert total == files

    await feed_ledger(wh.sessions, wh.url, "evil-pkg", since=serial)
    done, d = await run(wh, "restore", Target(project="evil-pkg", version="2.0"),
                        reason="restore 2.0")
    assert pick(d["releases"].added, "version", "requires_python") == [("2.0", ">=3.8")]
    assert pick(d["release_files"].added, "filename", "requires_python") == [
        ("evil_pkg-2.0-py3-none-any.whl", ">=3.8")]  # copied by Warehouse's trigger
    total, files = await _sizes(wh)
    assert total == files


async def test_restore_one_file(wh: Wh) -> None:
    serial = await feed_ledger(wh.sessions, wh.url, "evil-pkg")
    await wh.seed.remove_file("evil-pkg", "evil_pkg-1.0.tar.gz", "mallory")
    total, files = await _sizes(wh)
    assert total == files
    await feed_ledger(wh.sessions, wh.url, "evil-pkg", since=serial)
    _, d = await run(wh, "restore", Target(project="evil-pkg", filename="evil_pkg-1.0.tar.gz"),
                     reason="deleted by mistake")
    assert set(d) == {"release_files", "file_events", "journals", "projects"}
    [row] = d["release_files"].added
    assert (row["filename"], row["packagetype"], row["python_version"], row["uploaded_via"],
            row["allow_multiple_sdist"]) == ("evil_pkg-1.0.tar.gz", "sdist", "source",
                                             "index-warden/restore", False)
    assert journal(d) == [("evil-pkg", "1.0", "add source file evil_pkg-1.0.tar.gz", "admin")]
    [change] = d["projects"].changed
    assert set(change) == {"total_size", "last_serial"}  # by Warehouse's triggers only
    total, files = await _sizes(wh)
    assert total == files == change["total_size"][1]


# -- the authorship rule, and the journal's lock -------------------------------------------


async def test_without_an_account_to_record_it_as_nothing_is_planned(wh: Wh) -> None:
    wh.actions.backends.admin.service_account = "warden-bot"  # configured, but missing
    with pytest.raises(PlanRefused, match="neither an account 'alice' nor the service account "
                                          "'warden-bot'"):
        await wh.actions.request("alice", "yank", Target(project="evil-pkg", version="1.0"),
                                 reason="x")
    # bob has an account of his own, so the missing service account does not matter.
    await run(wh, "yank", Target(project="evil-pkg", version="1.0"), actor="bob", reason="x")


async def test_journals_are_written_under_warehouses_lock(wh: Wh) -> None:
    holder = await asyncpg.connect(dsn(wh.url))
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT pg_advisory_xact_lock("
                             "CAST(CAST('journals' AS regclass) AS integer), $1)", JOURNAL_LOCK)
        yank = asyncio.ensure_future(wh.actions.backends.admin.set_yanked(
            "evil-pkg", "1.0", True, "x", "alice"))
        await asyncio.sleep(0.5)
        assert not yank.done()  # waits for the transaction that holds Warehouse's lock
        await tx.commit()
        assert await asyncio.wait_for(yank, 10)
    finally:
        await holder.close()
