"""Request verification, replay protection, the admin check, and ack() under a dead Slack.

Every request here is real HTTP to POST /slack/events, signed (or mis-signed) the way
Slack signs: v0 HMAC-SHA256 over "v0:{timestamp}:{body}" with the signing secret.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from bot.incidents import Status
from tests.support.slack import (
    ALICE,
    EVE,
    SECRET,
    Harness,
    finding,
    running,
    signed_headers,
)


async def _state(slack: Harness, incident_id: int) -> tuple[int, int, int, str]:
    """What must not change: Web API calls, audit rows, outbox rows, incident status."""
    return (len(slack.api.calls), len(await slack.audit()), await slack.undelivered(),
            (await slack.incident(incident_id)).status)


async def _ready(slack: Harness) -> int:
    incident_id = await slack.open_incident(finding())
    await slack.deliver()
    await slack.idle()
    return incident_id


async def test_forged_stale_and_malformed_requests_get_401_and_change_nothing(
        slack: Harness) -> None:
    incident_id = await _ready(slack)
    before = await _state(slack, incident_id)
    body = "payload=" + quote(json.dumps(slack.button_payload("inc_ack", str(incident_id))))
    now = int(time.time())
    good = signed_headers(body)
    attempts = {
        "wrong secret": signed_headers(body, secret=SECRET[::-1]),
        "stale (5 min 1 s)": signed_headers(body, timestamp=now - 301),
        # (a second boundary may pass before the server reads its clock: margin enough)
        "from the future": signed_headers(body, timestamp=now + 305),
        "body changed": {**good, "X-Slack-Signature": signed_headers(body + "x")["X-Slack-Signature"]},
        "no signature": {k: v for k, v in good.items() if k != "X-Slack-Signature"},
        "no timestamp": {k: v for k, v in good.items() if k != "X-Slack-Request-Timestamp"},
    }
    for what, headers in attempts.items():
        sent = await slack.send(body, headers)
        assert sent.status == 401, what
    await slack.idle()
    assert await _state(slack, incident_id) == before
    accepted = await slack.send(body, good)  # the same request, correctly signed, just now
    assert accepted.status == 200
    await slack.settle()
    assert (await slack.incident(incident_id)).status == Status.ACKNOWLEDGED


async def test_a_replayed_request_gets_401_here_and_on_another_replica(
        slack_any_store: Harness, store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    slack = slack_any_store
    incident_id = await _ready(slack)
    body = "payload=" + quote(json.dumps(slack.button_payload("inc_assign", str(incident_id))))
    headers = signed_headers(body)
    assert (await slack.send(body, headers)).status == 200
    await slack.settle()
    assert (await slack.incident(incident_id)).assignee == ALICE
    before = await _state(slack, incident_id)

    assert (await slack.send(body, headers)).status == 401
    await slack.deps.seen.flush()
    # Another process on the same store: a replica (PostgreSQL) or a restart (SQLite).
    async with running(store_url, monkeypatch) as replica:
        replayed = await replica.send(body, headers)
        assert replayed.status == 401
        await replica.idle()
        assert [c.method for c in replica.api.calls] == ["auth.test"]  # start-up only
    await slack.idle()
    assert await _state(slack, incident_id) == before


async def test_non_admins_are_refused_privately_and_audited(slack: Harness) -> None:
    incident_id = await _ready(slack)
    status = (await slack.incident(incident_id)).status

    clicked = await slack.click("inc_ack", str(incident_id), user=EVE)
    assert clicked.status == 200
    command = await slack.command(f"ack {incident_id}", user=EVE)
    assert command.status == 200 and command.json()["response_type"] == "ephemeral"
    assert "not in `access.admins`" in command.json()["text"]
    view = {"id": "V1", "callback_id": "false_positive", "type": "modal",
            "private_metadata": json.dumps({"incident_id": incident_id, "channel": None})}
    submitted = await slack.submit(view, "because", user=EVE)
    assert submitted.json()["response_action"] == "errors"
    await slack.settle()

    assert (await slack.incident(incident_id)).status == status
    refused = [(a.actor, a.action, a.target, a.outcome) for a in await slack.audit()]
    assert refused == [
        (EVE, "slack.button inc_ack", f"incident:{incident_id}", "refused"),
        (EVE, "slack.command /warden", "slack", "refused"),
        (EVE, "slack.view false_positive", "slack", "refused"),
    ]
    notices = [r["text"] for r in slack.api.state.responses]
    assert len(notices) == 1 and "not in `access.admins`" in notices[0]
    assert notices[0].startswith("Only index-warden admins")


async def test_ack_comes_at_once_while_slack_is_down_and_the_work_follows(
        slack: Harness) -> None:
    incident_id = await _ready(slack)
    slack.api.down()
    clicks = [await slack.click("inc_ack", str(incident_id)),
              await slack.click("inc_pb:restore", str(incident_id)),
              await slack.command("incidents")]
    assert all(c.status == 200 for c in clicks)
    assert max(c.seconds for c in clicks) < 1.0  # Slack's limit is 3 s
    await slack.idle()
    assert (await slack.incident(incident_id)).status == Status.ACKNOWLEDGED
    assert await slack.deliver() == 0  # the message update waits in the outbox
    slack.api.up()
    assert await slack.deliver(now=datetime.now(UTC) + timedelta(minutes=5)) == 1
    [message] = slack.api.top_level()
    assert "(acknowledged)" in message.text and message.edits == 1
