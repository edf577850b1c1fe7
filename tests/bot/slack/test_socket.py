"""Socket Mode: the same app over the WebSocket `apps.connections.open` hands out."""

from __future__ import annotations

import pytest

from bot.incidents import Status
from bot.netdoubles.slack import TEAM
from tests.support.slack import ALICE, EVE, ROOM, finding, running


async def test_commands_and_buttons_arrive_over_socket_mode(
        sqlite_url: str, no_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    options = {"socket_mode": True, "app_token": "xapp-1-test"}
    async with running(sqlite_url, monkeypatch, options=options) as slack:
        [opened] = slack.api.called("apps.connections.open")
        assert opened.token == "xapp-1-test"
        incident_id = await slack.open_incident(finding())

        command = {"command": "/warden", "text": "help", "user_id": ALICE, "team_id": TEAM,
                   "channel_id": ROOM, "response_url": slack.api.response_url("s1"),
                   "trigger_id": "trigger.s1"}
        ack = await slack.api.send_envelope("slash_commands", command)
        assert "`/warden show ID`" in ack["payload"]["text"]

        click = slack.button_payload("inc_ack", str(incident_id))
        await slack.api.send_envelope("interactive", click)
        refused = slack.button_payload("inc_resolve", str(incident_id), user=EVE)
        await slack.api.send_envelope("interactive", refused)
        await slack.idle()
        assert (await slack.incident(incident_id)).status == Status.ACKNOWLEDGED
        audit = {(a.actor, a.action, a.outcome) for a in await slack.audit()}
        assert audit == {(ALICE, "incident.acknowledge", "done"),
                         (EVE, "slack.button inc_resolve", "refused")}
