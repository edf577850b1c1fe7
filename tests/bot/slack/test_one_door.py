"""One door for every face: Slack's buttons and commands and the CLI reach the same
actions layer, so a refusal is audited exactly once whichever face it came from, and a
playbook run from the CLI updates the incident's Slack message (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.incidents import Status
from bot.store.models import AuditEntry
from tests.support import REPO
from tests.support.indexdouble import IndexDouble
from tests.support.slack import ADMINS, ALICE, EVE, SECRET, TOKEN, Harness, finding


def cli(slack: Harness, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WARDEN_", "SLACK_"))}
    base.update(WARDEN_STORE_URL=slack.warden.settings.store.url,
                WARDEN_ACCESS_ADMINS=",".join(ADMINS), WARDEN_NOTIFY_CONSOLE="false",
                WARDEN_SLACK_API_URL=slack.api.api_url, SLACK_BOT_TOKEN=TOKEN,
                SLACK_SIGNING_SECRET=SECRET, PYTHONPATH=str(REPO), **env)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=base,
                          text=True, capture_output=True, timeout=120)


def refusals(audit: list[AuditEntry]) -> list[tuple[str, str]]:
    return [(a.actor, a.action) for a in audit if a.outcome == "refused"]


async def test_a_refusal_is_audited_exactly_once_from_every_face(
    slack_any_store: Harness, tmp_path: Path
) -> None:
    slack = slack_any_store
    incident_id = await slack.open_incident(finding())
    await slack.deliver()

    # Slack: a button and a slash command from someone who is not an admin.
    assert (await slack.click("inc_ack", str(incident_id), user=EVE)).status == 200
    assert (await slack.command(f"ack {incident_id}", user=EVE)).status == 200
    await slack.settle()
    assert refusals(await slack.audit()) == [(EVE, "slack.button inc_ack"),
                                             (EVE, "slack.command /warden")]
    # The CLI: the same refusal, through the same door.
    done = cli(slack, tmp_path, "incidents", "ack", str(incident_id), "--actor", "mallory")
    assert done.returncode == 1 and "is not an admin" in done.stderr
    refused = refusals(await slack.audit())
    assert refused[2:] == [("mallory", "incident.acknowledge")]
    # An admin's impossible step is refused once too, wherever it comes from.
    assert (await slack.click("inc_resolve", str(incident_id))).status == 200
    await slack.settle()
    done = cli(slack, tmp_path, "incidents", "ack", str(incident_id), "--actor", ALICE)
    assert done.returncode == 1 and "resolved" in done.stderr
    assert (await slack.click("inc_ack", str(incident_id))).status == 200
    await slack.settle()
    assert refusals(await slack.audit())[3:] == [(ALICE, "incident.acknowledge"),
                                                 (ALICE, "incident.acknowledge")]
    assert (await slack.incident(incident_id)).status == Status.RESOLVED


async def test_cli_triage_moves_the_incident_and_its_slack_message(
    slack_any_store: Harness, tmp_path: Path
) -> None:
    slack = slack_any_store
    incident_id = await slack.open_incident(finding())
    await slack.deliver()
    for args, status in ((("ack",), Status.ACKNOWLEDGED), (("resolve", "--note", "done"),
                                                             Status.RESOLVED),
                         (("reopen",), Status.OPEN)):
        done = cli(slack, tmp_path, "incidents", args[0], str(incident_id), *args[1:],
                   "--actor", ALICE)
        assert done.returncode == 0, done.stderr
        assert (await slack.incident(incident_id)).status == status
    await slack.deliver()
    message = slack.posted(f"incident:{incident_id}")
    assert message.text.endswith("(open)"), message.text
    assert [(a.action, a.outcome) for a in await slack.audit()] == [
        ("incident.acknowledge", "done"), ("incident.resolve", "done"),
        ("incident.reopen", "done")]


async def test_a_cli_playbook_run_updates_the_incidents_slack_message(
    slack_any_store: Harness, index_double: IndexDouble, tmp_path: Path
) -> None:
    from tests.support.dists import release_files

    slack = slack_any_store
    store = index_double.store
    store.create_project("demo-1", "mallory")
    store.add_release("demo-1", "1.0", release_files("demo-1", "1.0"), uploader="mallory")
    incident_id = await slack.open_incident(finding(playbooks=("yank",)))
    await slack.deliver()
    before = slack.posted(f"incident:{incident_id}")
    assert "mitigated" not in before.text.lower()
    done = cli(slack, tmp_path, "yank", "demo-1", "1.0", "--incident", str(incident_id),
               "--reason", "malware", "--yes", "--actor", ALICE,
               WARDEN_PLAYBOOKS_WAREHOUSE_URL=f"sqlite+aiosqlite:///{store.db_path}",
               WARDEN_STORAGE_ROOT=str(store.files_dir),
               WARDEN_PLAYBOOKS_TWO_ADMIN_APPROVAL="false")
    assert done.returncode == 0, done.stderr
    assert (await slack.incident(incident_id)).status == Status.MITIGATED
    assert await slack.deliver() >= 1  # the CLI queued the Slack update in the outbox
    after = slack.posted(f"incident:{incident_id}")
    assert after.ts == before.ts and "mitigated" in after.text.lower()
    assert any(c.params.get("ts") == before.ts for c in slack.api.called("chat.update"))


@pytest.mark.parametrize("status", [Status.MITIGATED])
async def test_a_stale_acknowledge_never_moves_a_mitigated_incident_back(
    slack_any_store: Harness, status: Status
) -> None:
    slack = slack_any_store
    incident_id = await slack.open_incident(finding())
    actions = slack.deps.door
    await actions.change_status(incident_id, status, ALICE, "fixed by hand")
    assert (await slack.click("inc_ack", str(incident_id))).status == 200
    await slack.settle()
    assert (await slack.incident(incident_id)).status == status
    assert refusals(await slack.audit()) == [(ALICE, "incident.acknowledge")]
