"""The outbox sender under a misbehaving Slack: rate limits, outages, lost answers.

Whatever happens, each incident ends up as exactly one message and each timeline entry
as exactly one reply in its thread.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.incidents import Status, transition
from bot.store.models import OutboxMessage
from bot.store.slack_models import SlackPost
from tests.support.slack import Harness, finding, running


def _later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def _keys(slack: Harness) -> Counter[str]:
    """How many messages Slack holds per post key (each must be 1)."""
    return Counter(str((m.metadata or {}).get("event_payload", {}).get("key"))
                   for m in slack.api.state.messages)


async def test_429_on_post_message_is_honoured_then_posted_once(slack: Harness) -> None:
    slack.api.fail("chat.postMessage", "429", retry_after=1)
    await slack.open_incident(finding())
    assert await slack.deliver() == 1
    first, second = slack.api.called("chat.postMessage")[:2]
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0  # Retry-After: 1
    assert len(slack.api.top_level()) == 1
    assert set(_keys(slack).values()) == {1}


async def test_slack_down_for_a_while_then_everything_once(slack: Harness) -> None:
    slack.api.down()
    ids = [await slack.open_incident(finding(n)) for n in range(1, 4)]
    async with slack.warden.sessions.begin() as s:
        incident = await s.get(type(await slack.incident(ids[0])), ids[0])
        assert incident is not None
        await transition(s, incident, Status.ACKNOWLEDGED, "UBOB00002", datetime.now(UTC),
                         ["slack"])
    assert await slack.deliver() == 0
    assert await slack.deliver(_later(60)) == 0  # still down an hour later
    async with slack.warden.sessions() as s:
        attempts = (await s.execute(sa.select(OutboxMessage.attempts))).scalars().all()
    assert attempts == [2, 2, 2, 2]
    assert slack.api.state.messages == []

    slack.api.up()
    assert await slack.deliver(_later(120)) == 4
    assert len(slack.api.top_level()) == 3
    assert sum(_keys(slack).values()) == 3 + 4  # 3 "opened" replies and 1 status change
    assert set(_keys(slack).values()) == {1}
    calls = len(slack.api.calls)
    assert await slack.deliver(_later(180)) == 0  # nothing left, nothing sent again
    assert len(slack.api.calls) == calls


async def test_a_5xx_answer_is_checked_before_posting_again(slack: Harness) -> None:
    slack.api.fail("chat.postMessage", "500")
    await slack.open_incident(finding())
    assert await slack.deliver() == 0  # Slack may or may not have it: look before reposting
    async with slack.warden.sessions() as s:
        row = await s.get(SlackPost, "incident:1")
    assert row is not None and row.ts is None and row.attempted_at is not None
    assert await slack.deliver(_later(1)) == 1
    methods = [c.method for c in slack.api.calls if c.method != "auth.test"]
    assert methods == ["chat.postMessage", "conversations.list", "conversations.history",
                       "chat.postMessage", "chat.postMessage"]
    assert set(_keys(slack).values()) == {1}


async def test_an_answer_lost_after_slack_posted_is_adopted_not_reposted(
        sqlite_url: str, no_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(sqlite_url, monkeypatch, options={"timeout_seconds": 1}) as slack:
        slack.api.fail("chat.postMessage", "lost", seconds=2)
        await slack.open_incident(finding())
        assert await slack.deliver() == 0  # timed out, but Slack has the message
        assert len(slack.api.top_level()) == 1
        assert await slack.deliver(_later(1)) == 1
        [root] = slack.api.top_level()
        assert len(slack.api.thread(root)) == 1  # the "opened" reply, in the adopted thread
        assert set(_keys(slack).values()) == {1}
        async with slack.warden.sessions() as s:
            row = await s.get(SlackPost, "incident:1")
        assert row is not None and (row.channel, row.ts) == (root.channel, root.ts)
