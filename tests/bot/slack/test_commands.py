"""`/warden` with every subcommand, and bad input for each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.incidents import Status
from bot.store.domain_models import Domain
from bot.store.models import CriticalMark, Project
from bot.types import Severity
from tests.support.slack import ALICE, BOB, Harness, finding


async def _answer(slack: Harness, text: str) -> str:
    """The private answer to a command that does its work after the ack."""
    sent = await slack.command(text)
    assert sent.status == 200 and sent.text == ""
    await slack.idle()
    response = slack.api.state.responses[-1]
    assert response["response_type"] == "ephemeral" and response["replace_original"] is False
    return str(response["text"])


@pytest.mark.parametrize("text, expected", [
    ("", "`/warden incidents [open|mine|all]`"),
    ("help", "`/warden critical NAME`"),
    ("frobnicate", "Unknown subcommand `frobnicate`."),
    ("help me", "Usage: `/warden help`"),
    ("incidents some", "`some`: choose open, mine or all"),
    ("show", "Usage: `/warden show ID`"),
    ("show seven", "`seven` is not an incident number"),
    ("ack", "Usage: `/warden ack ID`"),
    ("ack 1 2", "Usage: `/warden ack ID`"),
    ("restore", "Usage: `/warden restore PROJECT [VERSION]`"),
    ("yank requests", "Usage: `/warden yank PROJECT VERSION`"),
    ("freeze", "Usage: `/warden freeze USER`"),
    ("unverify alice", "`alice` is not an email address"),
    ("domain", "Usage: `/warden domain DOMAIN`"),
    ("typo", "Usage: `/warden typo NAME`"),
    ("critical a b", "Usage: `/warden critical NAME`"),
])
async def test_usage_comes_back_at_once_and_nothing_else_happens(
        slack: Harness, text: str, expected: str) -> None:
    sent = await slack.command(text)
    assert sent.status == 200
    answer = sent.json()
    assert answer["response_type"] == "ephemeral" and expected in answer["text"]
    await slack.idle()
    assert [c.method for c in slack.api.calls] == ["auth.test"]


async def test_incidents_show_and_ack(slack: Harness) -> None:
    first = await slack.open_incident(finding(1))
    second = await slack.open_incident(finding(2, severity=Severity.WARNING))
    await slack.deliver()
    await slack.click("inc_assign", str(second), user=BOB)
    await slack.idle()

    listed = await _answer(slack, "incidents")
    assert listed == "Open incidents: 2"
    blocks = slack.api.state.responses[-1]["blocks"]
    lines = blocks[1]["text"]["text"].splitlines()
    assert lines[0].startswith(f":large_yellow_circle: *#{second}*") and f"<@{BOB}>" in lines[0]
    assert lines[1].startswith(f":red_circle: *#{first}*") and lines[1].endswith("unassigned")
    assert await _answer(slack, "incidents mine") == "Mine incidents: none"
    assert await _answer(slack, "incidents all") == "All incidents: 2"

    shown = await _answer(slack, f"show #{first}")
    assert shown.startswith(f"Incident #{first}: <https://slack.com/archives/C")
    assert slack.api.state.responses[-1]["blocks"][0]["text"]["text"].endswith("demo-1")
    assert await _answer(slack, "show 99") == "There is no incident #99."

    assert await _answer(slack, f"ack {first}") == f"Incident #{first} is now acknowledged."
    assert (await slack.incident(first)).status == Status.ACKNOWLEDGED
    assert await _answer(slack, f"ack {first}") == \
        f"Incident #{first}: incident {first} is acknowledged; cannot become acknowledged"
    assert await _answer(slack, "ack 42") == "Incident #42: no incident #42"


@pytest.mark.parametrize("text, title, target", [
    ("restore atomicwrites", "Restore", "project:atomicwrites"),
    ("restore atomicwrites 1.4.0", "Restore", "project:atomicwrites@1.4.0"),
    ("yank ctx 0.2.2", "Yank", "project:ctx@0.2.2"),
    ("freeze mallory", "Freeze account", "account:mallory"),
    ("unverify figlief@ctx.example", "Unverify email", "email:figlief@ctx.example"),
])
async def test_playbook_commands_open_the_plan_modal(
        slack: Harness, text: str, title: str, target: str) -> None:
    assert (await slack.command(text)).text == ""
    await slack.idle()
    [opened] = slack.api.called("views.open")
    assert opened.params["trigger_id"].startswith("trigger.")
    assert opened.params["view"]["blocks"][0]["text"]["text"].endswith("working out the plan…")
    [updated] = slack.api.called("views.update")
    view = updated.params["view"]
    assert view["title"]["text"] == title
    # This instance has no playbook backends configured: the modal says so, and why (the
    # same commands plan for real in test_slack_playbooks).
    notice = view["blocks"][0]["text"]["text"]
    assert notice.startswith(f"{target}: Playbooks are not available on this instance")
    assert "playbooks.warehouse_url must be set" in notice


async def test_domain_typo_and_critical(slack: Harness) -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    async with slack.warden.sessions.begin() as s:
        s.add(Domain(name="ctx-maint.org", tld="org", first_seen_at=now, state="grace",
                     expires_at=datetime(2024, 4, 20, tzinfo=UTC), dns_outcome="nxdomain",
                     dns_checked_at=now, registry_checked_at=now, critical=True))
        project = Project(name="Requests", normalized_name="requests", critical=True,
                          critical_since=now, critical_reason="downloads")
        s.add(project)
        await s.flush()
        s.add(CriticalMark(project_id=project.id, source="downloads", detail="rank 4 of 15000",
                           first_at=now, last_at=now))
        s.add(Project(name="left-pad", normalized_name="left-pad"))
    await slack.open_incident(finding(1, kind="expired", subject="domain:ctx-maint.org",
                                      playbooks=("unverify-email",)))

    domain = await _answer(slack, "domain someone@CTX-maint.org")
    assert domain.splitlines() == [
        "`ctx-maint.org`: *grace*, expires 2024-04-20",
        "DNS: nxdomain (checked 2024-05-01)",
        "registry checked 2024-05-01 · critical maintainers",
        "open incident *#1* (critical): Critical project demo-1 was removed (3 release(s))",
    ]
    assert "is not tracked" in await _answer(slack, "domain example.org")
    assert "Usage: `/warden domain DOMAIN`" in await _answer(slack, "domain not..a..domain")

    typo = await _answer(slack, "typo reqeusts")
    assert typo.startswith("`reqeusts`: *possible typosquat* of `requests`")
    assert (await _answer(slack, "typo requests")).startswith("`requests`: ok")
    assert "Usage: `/warden typo NAME`" in await _answer(slack, "typo -not-a-name-")

    assert await _answer(slack, "critical requests") == (
        "`Requests` is *critical* since 2024-05-01:\n• downloads: rank 4 of 15000")
    assert await _answer(slack, "critical left_pad") == "`left-pad` is *not critical*."
    assert "not in the ledger" in await _answer(slack, "critical nothing-here")
    assert ALICE  # every answer above went to the admin who asked, privately
