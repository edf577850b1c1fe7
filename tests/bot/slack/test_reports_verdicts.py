"""Malware reports end to end: an observation seeded as Warehouse writes it (PostgreSQL,
Warehouse's real schema) → the reports source's incident → its Slack message (local Slack
Web API server) → signed button presses → a second admin's approval → the Warehouse
database as Warehouse's admin view leaves it; then the incident closes on the verdict.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa

from bot import jobs
from bot.actions import Actions
from bot.feed.reports import ReportsSource
from bot.incidents import Status
from bot.ledger import Ledger, TrackedProjects
from bot.netdoubles.slack import Message
from bot.store.db import create_engine, session_factory
from bot.store.models import TimelineEntry
from bot.store.playbook_models import RunStatus
from detectors.reports.settings import ReportsSection
from playbooks.base import Target
from playbooks.index_admin.warehouse import WarehouseAdmin
from playbooks.settings import PlaybooksSection
from playbooks.storage.filesystem import FilesystemStorage
from playbooks.wiring import Backends
from tests.support.dists import wheel
from tests.support.reports import naive_now, report, trust
from tests.support.slack import ADMINS, ALICE, BOB, Harness, finding, running
from tests.support.warehouse_db import Seeder, TableDiff, diff, dsn, feed_ledger, snapshot

pytestmark = pytest.mark.service


@dataclass
class Case:
    slack: Harness
    source: ReportsSource
    seed: Seeder
    url: str

    @property
    def conn(self) -> asyncpg.Connection:
        return self.seed.conn


@asynccontextmanager
async def case(warehouse_url: str, sqlite_url: str, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch, cfg: ReportsSection | None = None
               ) -> AsyncIterator[Case]:
    seed = Seeder(await asyncpg.connect(dsn(warehouse_url)), tmp_path / "files")
    seed.clock = naive_now(hours=-2)
    for name in ("admin", "mallory", "hunter"):
        await seed.user(name, (f"{name}@example.org", True))
    await trust(seed.conn, "hunter")
    await seed.project("evil-pkg", "mallory")
    await seed.release("evil-pkg", "1.0", "mallory", [wheel("evil-pkg", "1.0", 200)])
    await seed.release("evil-pkg", "2.0", "mallory", [wheel("evil-pkg", "2.0", 300)])
    storage = FilesystemStorage(tmp_path / "files")
    actions = Actions(session_factory(create_engine(sqlite_url)),
                      Backends(WarehouseAdmin.open(warehouse_url, storage), storage),
                      PlaybooksSection(), ADMINS, notifiers=["slack"])
    try:
        async with running(sqlite_url, monkeypatch, actions=actions) as slack:
            source = ReportsSource(slack.warden.sessions, create_engine(warehouse_url),
                                   cfg or ReportsSection(), slack.warden.pipeline.notifiers)
            try:
                yield Case(slack, source, seed, warehouse_url)
            finally:
                await source.close()
    finally:
        await actions.backends.close()
        await seed.conn.close()


def _buttons(message: Message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions"
            for e in b["elements"]]


def _text(view: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in view["blocks"] if b.get("text"))


async def _timeline(c: Case, incident_id: int) -> list[TimelineEntry]:
    async with c.slack.warden.sessions() as s:
        return list((await s.execute(sa.select(TimelineEntry).where(
            TimelineEntry.incident_id == incident_id))).scalars())


def _entry(actions: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(key, value)] = actions.items()
    return key, value


def _as_warehouse_writes(key: str, entry: dict[str, Any], action: str, actor: str,
                         **more: Any) -> None:
    """``actions[int(now.timestamp())] = {"actor", "action", ..., "created_at": str(now)}``
    (``admin/views/malware_reports.py``)."""
    created = datetime.fromisoformat(entry["created_at"])
    assert created.tzinfo is not None and str(created) == entry["created_at"]
    assert key == str(int(created.timestamp()))
    assert entry == {"actor": actor, "action": action, **more,
                     "created_at": entry["created_at"]}
    assert abs((datetime.now(UTC) - created).total_seconds()) < 120


async def _report(c: Case, **more: Any) -> uuid.UUID:
    """A malware report on evil-pkg by hunter, made a minute ago, as Warehouse writes it."""
    return await report(c.conn, "evil-pkg", "hunter", created=naive_now(minutes=-1), **more)


async def _incident(c: Case) -> int:
    """The reports source reads the reports: one incident, its message posted to Slack."""
    [iid] = (await c.source.poll()).incidents
    await c.slack.deliver()
    return iid


async def _request(c: Case, iid: int, playbook: str, reason: str, *,
                   release: bool = False) -> dict[str, Any]:
    """ALICE presses the incident message's ``playbook`` button (a signed request), picks the
    reported release in the plan modal when ``release`` (else the default target) and
    submits it with ``reason``; returns the plan modal she submitted."""
    await c.slack.click(f"inc_pb:{playbook}", str(iid), user=ALICE)
    await c.slack.idle()
    view = c.slack.latest_view()
    if release:
        select = view["blocks"][1]["elements"][0]
        assert [o["value"] for o in select["options"]] == ["0", "1"]  # the project, the release
        await c.slack.modal_action(view, {"action_id": "plan_target", "type": "static_select",
                                          "selected_option": {"value": "1"}})
        await c.slack.idle()
        view = c.slack.latest_view()
    await c.slack.submit(view, reason)
    await c.slack.settle()
    return view


@dataclass
class Verdict:
    view: dict[str, Any]  # the plan modal ALICE submitted
    changes: dict[str, TableDiff]  # Warehouse's database from before the press to after the run

    @property
    def plan(self) -> str:
        return _text(self.view)


async def _verdict(c: Case, iid: int, playbook: str, reason: str, *, run: int = 1,
                   release: bool = False) -> Verdict:
    """:func:`_request`, then the destructive run #``run`` waits for a second admin: BOB
    approves it and it runs to the end."""
    before = await snapshot(c.url)
    view = await _request(c, iid, playbook, reason, release=release)
    assert c.slack.posted(f"run:{run}").text.endswith(f"run #{run} awaiting_approval")
    await c.slack.click("run_approve", str(run), user=BOB)
    await c.slack.settle()
    assert c.slack.posted(f"run:{run}").text.endswith(f"run #{run} done")
    return Verdict(view, diff(before, await snapshot(c.url)))


async def test_remove_malware_from_the_incident_message(
        warehouse_url: str, sqlite_url: str, tmp_path: Path, no_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with case(warehouse_url, sqlite_url, tmp_path, monkeypatch) as c:
        oid = await _report(c)
        iid = await _incident(c)
        root = c.slack.posted(f"incident:{iid}")
        assert root.text.startswith(f"[CRITICAL] #{iid} Malware report: evil-pkg")
        buttons = _buttons(root)
        for name in ("not-malware", "quarantine", "remove-malware"):
            assert f"inc_pb:{name}" in buttons

        verdict = await _verdict(c, iid, "remove-malware", "credential stealer, confirmed by hunter")
        assert "freeze account mallory" in verdict.plan
        assert "prohibit the project name evil-pkg" in verdict.plan
        changes = verdict.changes
        # Warehouse's remove_malware_for_project: the owner frozen with an account_abuse
        # observation, the verdict on the report, the name prohibited, the project gone.
        users = changes["users"].changed
        assert {"is_frozen": (False, True)} in users
        # The acting account gets its observer on its first observation, as in Warehouse.
        assert len(users) == 2 and set(users[0]) | set(users[1]) == {
            "is_frozen", "observer_association_id"}
        [abuse] = changes["user_observations"].added
        assert (abuse["kind"], abuse["summary"], abuse["payload"]) == (
            "account_abuse", "Account frozen due to malware report", {"project_name": "evil-pkg"})
        [observation] = changes["project_observations"].changed
        assert observation["related_id"][1] is None  # the project row went after the verdict
        key, entry = _entry(observation["actions"][1])
        _as_warehouse_writes(key, entry, "remove_malware", "admin")
        [banned] = changes["prohibited_project_names"].added
        assert (banned["name"], banned["observation_kind"], banned["comment"]) == (
            "evil-pkg", "is_malware", "")
        assert [j["action"] for j in changes["journals"].added] == ["remove project"]
        assert [p["name"] for p in changes["projects"].removed] == ["evil-pkg"]
        row = await c.conn.fetchrow("SELECT related_name, actions FROM project_observations "
                                    "WHERE id = $1", oid)
        assert row["related_name"] == "Project(name='evil-pkg')"
        assert json.loads(row["actions"]) == observation["actions"][1]

        # The reports are decided: the incident closes on the verdict.
        assert (await c.slack.incident(iid)).status == Status.MITIGATED
        assert await c.source.settle() == [iid]
        settled = await c.slack.incident(iid)
        assert settled.status == Status.RESOLVED
        # The summary says how the wait ended, not that it goes on.
        assert "waiting for a verdict" not in settled.summary
        assert settled.summary.endswith("every report has a verdict: remove_malware by admin at "
                                        f"{entry['created_at']}"), settled.summary
        # Idempotent: a second poll opens nothing, planning again finds nothing to do.
        assert (await c.source.poll()).incidents == []
        assert c.slack.deps.actions is not None
        again = await c.slack.deps.actions.plan(ALICE, "remove-malware",
                                                 Target(project="evil-pkg"), reason="again")
        assert again.steps == ()


async def test_not_malware_from_the_warden_command(
        warehouse_url: str, sqlite_url: str, tmp_path: Path, no_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with case(warehouse_url, sqlite_url, tmp_path, monkeypatch) as c:
        await _report(c)
        iid = await _incident(c)
        before = await snapshot(c.url)
        await c.slack.command("not-malware evil-pkg")
        await c.slack.idle()
        view = c.slack.latest_view()
        assert "record the verdict verdict_not_malware on 1 malware report(s)" in _text(view)
        await c.slack.submit(view, "a build tool, the URL is its docs")
        await c.slack.settle()  # not destructive: no second admin
        changes = diff(before, await snapshot(c.url))
        assert set(changes) == {"project_observations"}
        [verdict] = changes["project_observations"].changed
        assert set(verdict) == {"actions"}
        key, entry = _entry(verdict["actions"][1])
        _as_warehouse_writes(key, entry, "verdict_not_malware", "admin",
                             reason="a build tool, the URL is its docs")
        assert await c.source.settle() == [iid]
        incident = await c.slack.incident(iid)
        assert incident.status == Status.FALSE_POSITIVE

        # Idempotent: the verdict is not written twice.
        assert c.slack.deps.actions is not None
        again = await c.slack.deps.actions.plan(ALICE, "not-malware", Target(project="evil-pkg"),
                                                reason="again")
        assert again.steps == () and "already has a verdict" in again.notes[0]


async def test_warehouse_verdict_meanwhile_cancels_the_waiting_run(
        warehouse_url: str, sqlite_url: str, tmp_path: Path, no_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with case(warehouse_url, sqlite_url, tmp_path, monkeypatch) as c:
        await _report(c)
        iid = await _incident(c)
        await _request(c, iid, "remove-malware", "looks bad")
        # Meanwhile an admin decides in Warehouse's own UI.
        await c.conn.execute(
            "UPDATE project_observations SET actions = jsonb_build_object("
            "extract(epoch from now())::bigint::text, jsonb_build_object('actor', 'ee', "
            "'action', 'verdict_not_malware', 'reason', 'a false alarm', 'created_at', "
            "now()::text))")
        before = await snapshot(c.url)
        assert await c.source.settle() == [iid]
        assert (await c.slack.incident(iid)).status == Status.FALSE_POSITIVE
        assert c.slack.deps.actions is not None
        run = await c.slack.deps.actions.show(1)
        assert run.status == RunStatus.CANCELLED
        await c.slack.click("run_approve", "1", user=BOB)
        await c.slack.settle()
        assert diff(before, await snapshot(c.url)) == {}


async def test_remove_malware_confirms_the_report_of_a_removed_project(
        warehouse_url: str, sqlite_url: str, tmp_path: Path, no_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with case(warehouse_url, sqlite_url, tmp_path, monkeypatch) as c:
        oid = await _report(c)
        # Removed in Warehouse (an admin's "remove project") before anyone decided.
        await c.conn.execute("UPDATE project_observations SET related_id = NULL")
        await c.seed.journal("evil-pkg", None, "remove project", "admin")
        await c.conn.execute("DELETE FROM projects WHERE name = 'evil-pkg'")
        iid = await _incident(c)
        assert "no longer on the index" in (await c.slack.incident(iid)).summary
        verdict = await _verdict(c, iid, "remove-malware",
                                 "confirmed: the removed project was malware")
        assert "record the verdict confirm_malware on 1 open malware report(s)" in verdict.plan
        changes = verdict.changes
        assert set(changes) == {"project_observations", "prohibited_project_names"}
        [observation] = changes["project_observations"].changed
        key, entry = _entry(observation["actions"][1])
        _as_warehouse_writes(key, entry, "confirm_malware", "admin")
        row = await c.conn.fetchrow("SELECT actions FROM project_observations WHERE id = $1", oid)
        assert json.loads(row["actions"]) == observation["actions"][1]
        assert await c.source.settle() == [iid]
        assert (await c.slack.incident(iid)).status == Status.RESOLVED


async def test_an_unacknowledged_report_is_paged_to_the_second_channel(
        warehouse_url: str, sqlite_url: str, tmp_path: Path, no_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = ReportsSection(escalate_after_minutes=120, escalate_channel="#pypi-oncall",
                         escalate_mention=["S0ONCALL1", "U0ADMIN22"])
    async with case(warehouse_url, sqlite_url, tmp_path, monkeypatch, cfg) as c:
        await _report(c)
        iid = await _incident(c)
        root = c.slack.posted(f"incident:{iid}")
        opened = (await c.slack.incident(iid)).created_at
        later = opened + timedelta(minutes=125)
        assert await c.source.chase(later) == ([iid], [iid])
        await c.slack.deliver(later)
        replies = [m.text for m in c.slack.api.thread(root)]
        assert ":alarm_clock: still open and nobody has acknowledged it after 2 h 5 min" \
            in replies
        assert (":mega: no acknowledgement after 2 h 5 min: escalated to <!subteam^S0ONCALL1> "
                "<@U0ADMIN22> and #pypi-oncall") in replies
        [page] = c.slack.api.top_level(c.slack.api.channel_id("#pypi-oncall"))
        assert f"Incident #{iid} has waited 2 h 5 min" in page.blocks[0]["text"]["text"]
        assert root.ts.replace(".", "") in page.blocks[0]["text"]["text"]
        await c.slack.deliver(later)  # posted once
        assert len(c.slack.api.top_level(c.slack.api.channel_id("#pypi-oncall"))) == 1

        # The generic reminder job (service.reminder_after_minutes) leaves report incidents
        # to the reports' own chase: an unacknowledged report is reminded once per turn,
        # while another kind of incident is still reminded by it.
        c.slack.warden.reports = c.source
        other = await c.slack.open_incident(finding(1))
        assert (await c.slack.incident(iid)).status == Status.OPEN
        much_later = opened + timedelta(minutes=125 + 241)
        assert await jobs.remind(c.slack.warden, much_later) == 1
        await c.slack.deliver(much_later)
        assert [t.action for t in (await _timeline(c, iid))].count("reminded") == 1
        assert [t.action for t in (await _timeline(c, other))].count("reminded") == 1
        assert [m.text for m in c.slack.api.thread(root)].count(
            ":alarm_clock: still open and nobody has acknowledged it after 2 h 5 min") == 1
        assert await c.source.chase(much_later) == ([iid], [])


async def test_remove_malware_in_error_is_undone_by_restore(
        warehouse_url: str, sqlite_url: str, tmp_path: Path, no_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The reported project joins the ledger when its report is read (files, digests,
    roles from the index's database), so Remove malware made in error is undone."""
    async with case(warehouse_url, sqlite_url, tmp_path, monkeypatch) as c:
        oid = await _report(c)
        [iid] = (await c.source.poll()).incidents
        files = {r["filename"]: (r["sha256_digest"], r["blake2_256_digest"], r["path"])
                 for r in await c.conn.fetch("SELECT * FROM release_files")}
        async with c.slack.warden.sessions() as s:
            kept = await Ledger(s, TrackedProjects()).project("evil-pkg", with_files=True)
            assert kept is not None
            assert {f.filename: (f.sha256, f.blake2b_256, f.path.removeprefix("packages/"))
                    for r in kept.releases for f in r.files} == files
        actions = c.slack.deps.actions
        assert actions is not None
        serial = await c.conn.fetchval("SELECT max(id) FROM journals")
        run = await actions.request(ALICE, "remove-malware", Target(project="evil-pkg"),
                                    reason="looked bad", incident_id=iid)
        await actions.approve(run.id, BOB)
        assert (await actions.run(run.id, BOB)).verified
        assert await c.conn.fetchval("SELECT count(*) FROM projects") == 0
        await feed_ledger(c.slack.warden.sessions, c.url, "evil-pkg", since=serial)
        assert await c.source.settle() == [iid]  # decided: the incident no longer questions it

        undo = await actions.request(ALICE, "restore", Target(project="evil-pkg"),
                                     reason="hunter's report was wrong")
        assert "note the restore on 1 malware report(s) decided remove_malware" in [
            s.summary for s in undo.plan.steps]
        await actions.approve(undo.id, BOB)
        done = await actions.run(undo.id, BOB)
        assert done.verified, done.verification
        # The report gets a note beside its verdict, an actions entry keyed by its second
        # as Warehouse keys verdicts; the verdict stays (the observer was not wrong to
        # report what the admins removed, Warehouse's accuracy counts it confirmed).
        row = await c.conn.fetchrow("SELECT related_id, actions FROM project_observations "
                                    "WHERE id = $1", oid)
        noted = json.loads(row["actions"])
        assert [v["action"] for _, v in sorted(noted.items())] == ["remove_malware",
                                                                   "restored"]
        key, entry = max(noted.items())
        _as_warehouse_writes(key, entry, "restored", "admin", reason="hunter's report was wrong")
        assert row["related_id"] is None  # a report keeps the project it was made on
        back = {r["filename"]: (r["sha256_digest"], r["blake2_256_digest"], r["path"])
                for r in await c.conn.fetch("SELECT * FROM release_files")}
        assert back == files
        assert await c.conn.fetchval("SELECT count(*) FROM prohibited_project_names") == 0
        assert [r["version"] for r in await c.conn.fetch(
            "SELECT version FROM releases ORDER BY version")] == ["1.0", "2.0"]
        assert await c.conn.fetchval("SELECT is_frozen FROM users WHERE username = 'mallory'")
        # Idempotent: a second restore has nothing to do and the note is not written twice.
        again = await actions.plan(ALICE, "restore", Target(project="evil-pkg"), reason="x")
        assert again.steps == ()
        assert json.loads(await c.conn.fetchval(
            "SELECT actions FROM project_observations WHERE id = $1", oid)) == noted


async def test_release_verdicts_pick_the_reported_release(
        warehouse_url: str, sqlite_url: str, tmp_path: Path, no_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with case(warehouse_url, sqlite_url, tmp_path, monkeypatch) as c:
        oid = await _report(c, version="2.0",
                            inspector_url="https://inspector.pypi.io/project/evil-pkg/2.0/")
        # A report on the project naming release 2.0 in its inspector link, too.
        named = await _report(c, inspector_url="https://inspector.pypi.io/project/evil-pkg/2.0/x.py")
        iid = await _incident(c)

        verdict = await _verdict(c, iid, "quarantine", "2.0 only, while we look", release=True)
        assert "quarantine release evil-pkg 2.0" in verdict.plan
        changes = verdict.changes
        # quarantine_release: lifecycle of the release, event, journal; no verdict.
        [release] = changes["releases"].changed
        assert release["lifecycle_status"] == (None, "quarantine-enter")
        assert [e["tag"] for e in changes["project_events"].added] == [
            "project:release:quarantine:enter"]
        assert [j["action"] for j in changes["journals"].added] == ["release quarantined"]
        assert "project_observations" not in changes and "users" not in changes

        verdict = await _verdict(c, iid, "remove-malware", "2.0 steals tokens", run=2,
                                 release=True)
        assert "remove release evil-pkg 2.0" in verdict.plan
        changes = verdict.changes
        assert [j["action"] for j in changes["journals"].added] == ["remove release"]
        assert [(e["tag"], e["additional"]) for e in changes["project_events"].added] == [
            ("project:release:remove", {"submitted_by": "admin", "canonical_version": "2",
                                        "reason": "2.0 steals tokens"})]
        [observation] = changes["project_observations"].changed
        key, entry = _entry(observation["actions"][1])
        _as_warehouse_writes(key, entry, "remove_release", "admin", versions=["2.0"],
                             reason="2.0 steals tokens")
        row = await c.conn.fetchrow("SELECT actions FROM project_observations WHERE id = $1",
                                    named)
        assert json.loads(row["actions"]) == observation["actions"][1]
        # The release report's parent went: it keeps its name and version.
        gone = await c.conn.fetchrow("SELECT related_id, related_name FROM "
                                     "release_observations WHERE id = $1", oid)
        assert gone["related_id"] is None and "version='2.0'" in gone["related_name"]
        assert await c.conn.fetchval("SELECT count(*) FROM releases") == 1


async def test_quarantine_project_from_the_incident_message(
        warehouse_url: str, sqlite_url: str, tmp_path: Path, no_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with case(warehouse_url, sqlite_url, tmp_path, monkeypatch) as c:
        oid = await _report(c)
        iid = await _incident(c)
        assert "inc_pb:quarantine" in _buttons(c.slack.posted(f"incident:{iid}"))

        verdict = await _verdict(c, iid, "quarantine", "hold it while we read the code")
        # The whole project is the default target (release 1.0, named by the inspector
        # link, is the other choice).
        select = verdict.view["blocks"][1]["elements"][0]
        assert [o["value"] for o in select["options"]] == ["0", "1"]
        assert select["initial_option"]["value"] == "0"
        assert "quarantine evil-pkg" in verdict.plan and "freezes the accounts with a role on " \
            "it: mallory" in verdict.plan
        changes = verdict.changes
        # Warehouse's quarantine_project (utils/project.py): the lifecycle with its note and
        # time, a project:quarantine:enter event, the journal, the project's users frozen.
        # The verdict view writes no actions entry: the reports stay open.
        assert set(changes) == {"projects", "project_events", "journals", "users"}
        [project] = changes["projects"].changed
        # last_serial: the journal's trigger in Warehouse's schema.
        assert set(project) == {"lifecycle_status", "lifecycle_status_note",
                                "lifecycle_status_changed", "last_serial"}
        assert project["lifecycle_status"] == (None, "quarantine-enter")
        assert project["lifecycle_status_note"] == (None, "Quarantined by admin.")
        assert project["lifecycle_status_changed"][1] is not None
        [event] = changes["project_events"].added
        assert (event["tag"], event["additional"]) == (
            "project:quarantine:enter", {"submitted_by": "admin"})
        [journal] = changes["journals"].added
        assert (journal["name"], journal["version"], journal["action"]) == (
            "evil-pkg", None, "project quarantined")
        assert changes["users"].changed == [{"is_frozen": (False, True)}]
        assert await c.conn.fetchval("SELECT is_frozen FROM users WHERE username = 'mallory'")
        row = await c.conn.fetchrow("SELECT actions FROM project_observations WHERE id = $1", oid)
        assert json.loads(row["actions"]) == {}

        # Mitigated, but no verdict yet: the incident stays open for one.
        assert await c.source.settle() == []
        assert (await c.slack.incident(iid)).status == Status.MITIGATED
        # Idempotent: planning again finds nothing to do, and nothing moves.
        after = await snapshot(c.url)
        assert c.slack.deps.actions is not None
        again = await c.slack.deps.actions.plan(ALICE, "quarantine", Target(project="evil-pkg"),
                                                reason="again")
        assert again.steps == () and "already in quarantine" in again.notes[0]
        assert (await c.source.poll()).incidents == []
        assert diff(after, await snapshot(c.url)) == {}


async def test_two_entries_in_one_second_are_both_kept(
        warehouse_url: str, sqlite_url: str, tmp_path: Path, no_env: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``actions`` is keyed by the second: an entry written within the second of another
    (a machine's verdict, then its undo) waits for the next second rather than replace it."""
    async with case(warehouse_url, sqlite_url, tmp_path, monkeypatch) as c:
        oid = await _report(c)
        assert c.slack.deps.actions is not None and c.slack.deps.actions.backends is not None
        admin = c.slack.deps.actions.backends.admin
        for verdict in ("quarantine_release", "remove_release"):
            assert await admin.record_malware_verdict("evil-pkg", verdict, "alice", [str(oid)],
                                                      {})
        actions = json.loads(await c.conn.fetchval(
            "SELECT actions FROM project_observations WHERE id = $1", oid))
        [(first, a), (second, b)] = sorted(actions.items())
        assert (a["action"], b["action"]) == ("quarantine_release", "remove_release")
        assert int(second) > int(first)
        for key, entry in actions.items():
            _as_warehouse_writes(key, entry, entry["action"], "admin")
