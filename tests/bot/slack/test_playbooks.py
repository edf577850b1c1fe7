"""Playbooks from Slack against the index double: plan modal, two-admin approval, a failed
step, Resume; target and option choices; a run that needs no approval."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.incidents import Status
from bot.netdoubles.slack import Message
from bot.store.playbook_models import RunStatus
from bot.types import Evidence, Finding, Severity
from playbooks.index_admin.base import IndexAdmin
from playbooks.settings import PlaybooksSection
from tests.support.dists import release_files
from tests.support.indexdouble import IndexDouble
from tests.support.slack import ADMINS, ALICE, BOB, Harness, check_block_kit, running
from tests.support.world import PROJECT, World, build_world, close_actions, incident_id, open_actions

pytestmark = pytest.mark.service


@asynccontextmanager
async def slack_on(world: World, store_url: str, monkeypatch: pytest.MonkeyPatch,
                   config: PlaybooksSection | None = None) -> AsyncIterator[Harness]:
    actions, engine = open_actions(world, store_url, admins=ADMINS, config=config)
    actions.notifiers = ["slack"]
    try:
        async with running(store_url, monkeypatch, actions=actions,
                           index_url=world.double.url) as slack:
            yield slack
    finally:
        await close_actions(actions, engine)


def _buttons(message: Message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions"
            for e in b["elements"]]


def _text(view: dict[str, Any]) -> str:
    parts = [b["text"]["text"] for b in view["blocks"] if b.get("text")]
    parts += [e["text"] for b in view["blocks"] if b["type"] == "context" for e in b["elements"]]
    return "\n".join(parts)


@pytest.fixture
async def world(index_double: IndexDouble, sqlite_url: str, no_env: None) -> World:
    return await build_world(index_double, sqlite_url)


async def test_restore_needs_a_second_admin_and_a_failed_step_resumes(
        world: World, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with slack_on(world, sqlite_url, monkeypatch) as slack:
        iid = await incident_id(slack.warden.sessions)
        await slack.notifier.deliver("incident.opened", {"incident_id": iid})
        [root] = slack.api.top_level()
        assert "inc_pb:restore" in _buttons(root)

        await slack.click("inc_pb:restore", str(iid))
        await slack.idle()
        view = slack.latest_view()
        assert view["title"]["text"] == "Restore" and view["submit"]["text"] == "Request approval"
        plan = _text(view)
        assert f"on `project:{PROJECT}` for incident #{iid}" in plan
        assert "change(s):*" in plan and "a *second admin*" in plan
        assert (await slack.submit(view, "")).json()["response_action"] == "errors"
        await slack.submit(view, "the maintainer deleted a top-1% project")
        await slack.settle()

        run_message = slack.posted("run:1")
        assert run_message.thread_ts == root.ts
        assert run_message.text.endswith("run #1 awaiting_approval")
        assert _buttons(run_message) == ["run_approve", "run_reject"]
        assert "waits for a second admin's approval" in slack.api.state.ephemeral[-1]["text"]

        await slack.click("run_approve", "1", user=ALICE)  # the requester cannot approve
        await slack.settle()
        assert "a second, different admin must approve it" in slack.api.state.responses[-1]["text"]
        run = await slack.deps.actions.show(1) if slack.deps.actions else None
        assert run is not None and run.status == RunStatus.AWAITING_APPROVAL

        last = run.steps[-1].key.removeprefix("file:")
        original = world.blob(last).read_bytes()
        world.blob(last).write_bytes(b"tampered" + original)
        # The approval comes after a restart: a fresh process reads the blobs again (the
        # one that planned would apply the very bytes it checked).
        fresh, fresh_engine = open_actions(world, sqlite_url, admins=ADMINS)
        fresh.notifiers = ["slack"]
        slack.deps.actions = fresh
        await slack.click("run_approve", "1", user=BOB)
        await slack.settle()
        assert run_message.text.endswith("run #1 failed")
        assert _buttons(run_message) == ["run_resume"]
        shown = " ".join(b["text"]["text"] for b in run_message.blocks if b.get("text"))
        assert "no longer matches the ledger" in shown and "*Resume* goes on" in shown
        assert shown.count("✅") == len(run.steps) - 1 and shown.count("❌") == 1
        assert "Resume continues from step" in slack.api.state.responses[-1]["text"]

        world.blob(last).write_bytes(original)
        await slack.click("run_resume", "1", user=ALICE)
        await slack.settle()
        assert run_message.text.endswith("run #1 done")
        assert _buttons(run_message) == []
        assert (await slack.incident(iid)).status == Status.MITIGATED
        assert [m.text for m in slack.api.thread(root)] == [
            ":rotating_light: opened by index-warden (critical)",
            f"<@{ALICE}>: playbook *restore* run #1 — playbook requested",
            f"Playbook restore on project:{PROJECT}: run #1 done",  # the run message
            f"<@{BOB}>: playbook *restore* run #1 — playbook approved",
            f"<@{BOB}>: playbook *restore* run #1 — playbook failed",
            f"<@{ALICE}>: playbook *restore* run #1 — playbook done",
            f"<@{ALICE}> changed the status open → *mitigated*: playbook restore run 1 done "
            "and verified",
        ]
        refused = [a for a in await slack.audit() if a.outcome == "refused"]
        assert [(a.actor, a.action) for a in refused] == [(ALICE, "playbook.approve")]
        assert check_block_kit(slack.api) >= 10  # messages, their updates, the modals
        await close_actions(fresh, fresh_engine)


def _domain_incident() -> Finding:
    accounts = [{"username": u, "emails": [{"email": f"{u}@example.org"}]}
                for u in ("alice", "mallory")]
    return Finding(detector="domains", kind="expired", subject="domain:example.org",
                   severity=Severity.HIGH, summary="example.org expired",
                   evidence=(Evidence(summary="affected accounts: alice, mallory",
                                      data={"accounts": accounts}),),
                   playbooks=("unverify-email", "freeze"))


async def test_choose_target_and_options_then_run_without_approval(
        world: World, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    waived = PlaybooksSection(approval_waived=["freeze"])
    async with slack_on(world, sqlite_url, monkeypatch, config=waived) as slack:
        iid = await slack.open_incident(_domain_incident())
        await slack.deliver()
        [root] = [m for m in slack.api.top_level() if "example.org" in m.text]
        assert _buttons(root)[2:4] == ["inc_pb:unverify-email", "inc_pb:freeze"]

        await slack.click("inc_pb:freeze", str(iid))
        await slack.idle()
        view = slack.latest_view()
        assert "1. freeze account alice" in _text(view) and view["submit"]["text"] == "Run"
        select = view["blocks"][1]["elements"][0]
        assert [o["value"] for o in select["options"]] == ["0", "1"]

        await slack.modal_action(view, {"action_id": "plan_target", "type": "static_select",
                                        "selected_option": {"value": "1"}})
        await slack.idle()
        view = slack.latest_view()
        assert "1. freeze account mallory" in _text(view)
        await slack.modal_action(view, {"action_id": "plan_options", "type": "checkboxes",
                                        "selected_options": [{"value": "unverify_emails"},
                                                             {"value": "not_an_option"}]})
        await slack.idle()
        view = slack.latest_view()
        assert "2. unverify mallory@example.org" in _text(view)

        await slack.submit(view, "the domain of their address expired")
        await slack.settle()
        run = await slack.deps.actions.show(1) if slack.deps.actions else None
        assert run is not None and run.status == RunStatus.DONE and run.verified
        assert run.plan.options == {"unverify_emails": True, "block_password_reset": False,
                                    "prohibit_shared_domains": False}
        assert run.requested_by == ALICE and run.approvals == ()
        assert "is done and verified" in slack.api.state.ephemeral[-1]["text"]

        await slack.command("yank atomic-writes-demo 1.0")  # removed: the plan refuses
        await slack.idle()
        refused = slack.latest_view()
        assert "atomic-writes-demo 1.0 does not exist on the index" in _text(refused)
        assert "submit" not in refused


async def test_release_quarantine_and_shared_domains_from_slack(
        world: World, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = world.double.store
    store.create_project("live-pkg", "mallory")
    for version in ("1.0", "2.0"):
        store.add_release("live-pkg", version, release_files("live-pkg", version),
                          uploader="mallory")
    waived = PlaybooksSection(approval_waived=["quarantine"])
    async with slack_on(world, sqlite_url, monkeypatch, config=waived) as slack:
        await slack.command("quarantine live-pkg 2.0")
        await slack.idle()
        view = slack.latest_view()
        assert "quarantine release live-pkg 2.0" in _text(view)
        assert "the other releases stay installable" in _text(view)
        await slack.submit(view, "report 123")
        await slack.settle()
        project = await world_admin(slack).project("live-pkg")
        assert project is not None and project.releases["2.0"].quarantined
        assert not project.quarantined and not project.releases["1.0"].quarantined

        await slack.command("unquarantine live-pkg 2.0")
        await slack.idle()
        view = slack.latest_view()
        assert "clear the quarantine of release live-pkg 2.0" in _text(view)
        await slack.submit(view, "false positive")
        await slack.settle()
        project = await world_admin(slack).project("live-pkg")
        assert project is not None and not project.releases["2.0"].quarantined

        # mallory@example.org shares example.org with alice: the freeze plan says it skips
        # the domain, and the modal offers the option that prohibits it anyway.
        await slack.command("freeze mallory")
        await slack.idle()
        view = slack.latest_view()
        assert "email domain example.org NOT prohibited" in _text(view)
        options = [o["value"] for b in view["blocks"] if b.get("block_id") == "options"
                   for o in b["elements"][0]["options"]]
        assert "prohibit_shared_domains" in options
        await slack.modal_action(view, {"action_id": "plan_options", "type": "checkboxes",
                                        "selected_options": [{"value": "prohibit_shared_domains"}]})
        await slack.idle()
        assert "prohibit email domain example.org" in _text(slack.latest_view())


def world_admin(slack: Harness) -> IndexAdmin:
    assert slack.deps.actions is not None
    return slack.deps.actions.backends.admin
