"""The incident message, its thread, and every incident button end to end."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.incidents import Status
from bot.netdoubles.slack import Message
from bot.store.typosquat_models import TyposquatAllow
from bot.types import Evidence, Finding, Severity
from tests.support.slack import ALICE, BOB, EVE, Harness, finding, running


def _action_ids(message: Message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions"
            for e in b["elements"]]


def _replies(slack: Harness, root: Message) -> list[str]:
    return [m.text for m in slack.api.thread(root)]


async def test_posted_once_then_updated_in_place_with_the_timeline_in_its_thread(
        slack_any_store: Harness) -> None:
    slack = slack_any_store
    incident_id = await slack.open_incident(finding())
    assert await slack.deliver() == 1
    [root] = slack.api.top_level()
    assert root.channel == slack.api.channel_id("#index-warden")
    assert root.text.startswith(f"[CRITICAL] #{incident_id} Critical project removed: demo-1")
    assert _action_ids(root) == ["inc_ack", "inc_assign", "inc_pb:restore", "inc_fp",
                                 "inc_resolve"]
    header = root.blocks[0]["text"]["text"]
    assert header == ":red_circle: Critical project removed: demo-1"
    fields = " ".join(f["text"] for f in root.blocks[2]["fields"])
    assert "<https://pypi.example/admin/projects/demo-1/|admin>" in fields
    assert _replies(slack, root) == [":rotating_light: opened by index-warden (critical)"]

    await slack.open_incident(finding())  # the same finding again: same incident
    calls = len(slack.api.calls)
    assert await slack.deliver() == 1
    assert slack.api.top_level() == [root] and root.edits == 1
    assert "seen 2 times" in root.blocks[-1]["elements"][0]["text"]
    assert _replies(slack, root)[1].startswith("seen again: Critical project demo-1")
    assert [c.method for c in slack.api.calls[calls:]] == ["chat.update", "chat.postMessage"]

    await slack.notifier.deliver("incident.updated", {"incident_id": incident_id})
    assert len(slack.api.calls) == calls + 2  # nothing changed: nothing sent


async def test_acknowledge_assign_resolve_buttons(slack: Harness) -> None:
    incident_id = await slack.open_incident(finding())
    await slack.deliver()
    [root] = slack.api.top_level()

    assert (await slack.click("inc_ack", str(incident_id))).status == 200
    await slack.settle()
    assert (await slack.incident(incident_id)).status == Status.ACKNOWLEDGED
    assert "inc_ack" not in _action_ids(root) and "(acknowledged)" in root.text
    assert _replies(slack, root)[-1] == f"<@{ALICE}> changed the status open → *acknowledged*"

    await slack.click("inc_assign", str(incident_id), user=BOB)
    await slack.settle()
    assert (await slack.incident(incident_id)).assignee == BOB
    assert f"*Assignee*\n<@{BOB}>" in [f["text"] for f in root.blocks[2]["fields"]]
    assert _replies(slack, root)[-1] == f"<@{BOB}> assigned the incident to <@{BOB}>"

    await slack.click("inc_resolve", str(incident_id))
    await slack.settle()
    assert (await slack.incident(incident_id)).status == Status.RESOLVED
    assert _action_ids(root) == []  # closed: no buttons left

    await slack.click("inc_ack", str(incident_id))  # an old message, a late click
    await slack.settle()
    assert "resolved; cannot become acknowledged" in slack.api.state.responses[-1]["text"]
    outcomes = [(a.actor, a.action, a.outcome) for a in await slack.audit()]
    assert outcomes == [(ALICE, "incident.acknowledge", "done"), (BOB, "incident.assign", "done"),
                        (ALICE, "incident.resolve", "done"),
                        (ALICE, "incident.acknowledge", "refused")]


def _typosquat() -> Finding:
    return Finding(
        detector="typosquat", kind="typosquat", subject="project:reqeusts",
        severity=Severity.HIGH, summary="Possible typosquat of requests (rank 3)",
        evidence=(Evidence(summary="`reqeusts` is `requests` with `ue` transposed",
                           data={"candidate": "reqeusts", "target": "requests"}),
                  Evidence(summary="uploaded by mallory", data={"uploaders": ["mallory"]})),
        playbooks=("quarantine", "yank", "freeze", "false_positive"))


async def test_false_positive_modal_closes_and_allowlists_the_typosquat(slack: Harness) -> None:
    incident_id = await slack.open_incident(_typosquat())
    await slack.deliver()
    [root] = slack.api.top_level()
    assert _action_ids(root) == ["inc_ack", "inc_assign", "inc_pb:quarantine", "inc_pb:yank",
                                 "inc_pb:freeze", "inc_fp", "inc_resolve"]

    await slack.click("inc_fp", str(incident_id))
    await slack.idle()
    [opened] = slack.api.called("views.open")
    view = slack.latest_view()
    assert view["callback_id"] == "false_positive" and opened.params["trigger_id"]
    assert "`reqeusts` will not be flagged as a look-alike of `requests`" in \
        view["blocks"][0]["text"]["text"]

    empty = await slack.submit(view, "  ")
    assert empty.json() == {"response_action": "errors",
                            "errors": {"reason": "Say why (it goes to the audit log)."}}
    assert (await slack.submit(view, "the maintainers' own fork")).status == 200
    await slack.settle()

    assert (await slack.incident(incident_id)).status == Status.FALSE_POSITIVE
    async with slack.warden.sessions() as s:
        allowed = (await s.execute(sa.select(TyposquatAllow))).scalar_one()
    assert (allowed.candidate, allowed.target, allowed.actor) == ("reqeusts", "requests", ALICE)
    # One action, one audit row: the allowlisting is recorded in it.
    [audited] = await slack.audit()
    assert (audited.action, audited.outcome, audited.detail["allowlisted"]) == (
        "incident.false_positive", "done", True)
    assert "reqeusts is allowlisted for requests" in slack.api.state.ephemeral[-1]["text"]
    assert "false positive" in _replies(slack, root)[-1]


async def test_one_channel_per_severity(sqlite_url: str, no_env: None,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    channels = {"critical": "#pypi-critical", "high": "#pypi-critical"}
    async with running(sqlite_url, monkeypatch, options={"channels": channels}) as slack:
        await slack.open_incident(finding(1))
        await slack.open_incident(finding(2, severity=Severity.WARNING))
        await slack.deliver()
        critical, warning = slack.api.top_level()
        assert critical.channel == slack.api.channel_id("#pypi-critical")
        assert warning.channel == slack.api.channel_id("#index-warden")
        assert all(m.channel == critical.channel for m in slack.api.thread(critical))


async def test_app_home_lists_open_incidents_by_severity(slack: Harness) -> None:
    first = await slack.open_incident(finding(1, severity=Severity.WARNING))
    second = await slack.open_incident(finding(2))
    closed = await slack.open_incident(finding(3))
    await slack.click("inc_resolve", str(closed))
    await slack.click("inc_assign", str(first), user=BOB)
    await slack.idle()

    assert (await slack.home_opened(ALICE)).status == 200
    assert (await slack.home_opened(EVE)).status == 200
    await slack.idle()
    home = slack.api.state.homes[ALICE]
    texts = [b["text"]["text"] for b in home["blocks"] if b["type"] == "section"]
    assert texts[0] == ":red_circle: *Critical* (1)"
    assert texts[1].startswith(f"*#{second}* Critical project removed: demo-2 · open · 0 min old")
    assert texts[2] == ":large_yellow_circle: *Warning* (1)"
    assert texts[3].endswith(f"<@{BOB}>")
    assert not any(f"#{closed}*" in t for t in texts)
    assert "Only the admins" in slack.api.state.homes[EVE]["blocks"][1]["text"]["text"]

    await slack.click("home_show", str(second), channel=None)
    await slack.idle()
    shown = slack.latest_view()
    assert shown["title"]["text"] == f"Incident #{second}" and shown["type"] == "modal"
    assert (await slack.click("home_refresh", "refresh", channel=None)).status == 200
    await slack.idle()
    assert len(slack.api.called("views.publish")) == 3


async def test_text_from_the_index_cannot_mention_or_link(slack: Harness) -> None:
    evil = "<!channel> see <https://evil.example/|pypi.org> & <@UALICE001>"
    incident_id = await slack.open_incident(Finding(
        detector="critical", kind="release-yanked", subject="project:demo", severity=Severity.HIGH,
        summary=evil, evidence=(Evidence(summary=evil, url="javascript:alert(1)"),),
        playbooks=("unyank",)))
    await slack.deliver()
    [root] = slack.api.top_level()
    sent = str(root.blocks) + root.text + str([m.text for m in slack.api.thread(root)])
    assert "<!channel>" not in sent and "<https://evil" not in sent and "javascript:" not in sent
    assert "&lt;!channel&gt; see &lt;https://evil.example/|pypi.org&gt; &amp;" in str(root.blocks)
    assert incident_id == 1
