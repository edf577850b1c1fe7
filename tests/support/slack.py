"""The Slack app running for real: the bot's web app with Slack mounted, on loopback,
talking to the local Slack Web API server, fed signed requests like Slack sends them."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from slack_sdk.signature import SignatureVerifier

from bot.actions import Actions
from bot.config import load_settings
from bot.incidents import record_finding
from bot.netdoubles.slack import TEAM, Message, SlackApiServer
from bot.notify.outbox import deliver_pending
from bot.slack.app import SLACK, mount
from bot.slack.client import RetryPolicy
from bot.slack.deps import SlackDeps
from bot.slack.notifier import SlackNotifier
from bot.slack.options import SlackOptions
from bot.store.models import AuditEntry, Incident, OutboxMessage
from bot.types import Evidence, Finding, Severity
from bot.web import build_app
from bot.wiring import Warden

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-1-test"
ALICE, BOB, EVE = "UALICE001", "UBOB00002", "UEVE00003"
ADMINS = [ALICE, BOB]
ROOM = "C0ADMINS1"  # where admins type commands
FAST = RetryPolicy(rate_limited=3, server_errors=1, backoff_seconds=0.05)


@dataclass
class Sent:
    status: int
    text: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.text)


def signed_headers(body: str, timestamp: int | None = None, secret: str = SECRET,
                   content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature}


def finding(n: int = 1, *, severity: Severity = Severity.CRITICAL, kind: str = "project-removed",
            subject: str | None = None, playbooks: tuple[str, ...] = ("restore",),
            data: Mapping[str, object] | None = None) -> Finding:
    return Finding(
        detector="critical", kind=kind, subject=subject or f"project:demo-{n}", severity=severity,
        summary=f"Critical project demo-{n} was removed (3 release(s))",
        evidence=(Evidence(summary=f"changelog #{100 + n}: remove project", serial=100 + n,
                           url=f"https://pypi.example/project/demo-{n}/", data=dict(data or {})),),
        playbooks=playbooks)


def check_block_kit(api: SlackApiServer) -> int:
    """Every blocks payload and view the bot sent parses into slack_sdk's block models and
    comes back unchanged (to_dict() validates lengths and shapes). Returns how many."""
    checked = 0
    payloads = [c.params for c in api.calls] + api.state.responses
    for params in payloads:
        if params.get("blocks"):
            blocks = params["blocks"]
            assert [b.to_dict() for b in Block.parse_all(blocks)] == blocks
            checked += 1
        if isinstance(params.get("view"), dict):
            view = params["view"]
            assert View(**view).to_dict() == view
            checked += 1
    return checked


class Harness:
    def __init__(self, api: SlackApiServer, warden: Warden, deps: SlackDeps,
                 notifier: SlackNotifier, url: str, http: aiohttp.ClientSession) -> None:
        self.api, self.warden, self.deps, self.notifier = api, warden, deps, notifier
        self.url, self.http = url, http
        self._n = 0

    # -- sending -------------------------------------------------------------------------

    async def send(self, body: str, headers: dict[str, str]) -> Sent:
        started = time.perf_counter()
        async with self.http.post(self.url, data=body.encode(), headers=headers) as resp:
            text = await resp.text()
        return Sent(resp.status, text, time.perf_counter() - started)

    async def send_payload(self, payload: dict[str, Any], **sign: Any) -> Sent:
        body = "payload=" + quote(json.dumps(payload))
        return await self.send(body, signed_headers(body, **sign))

    def _next(self) -> str:
        self._n += 1
        return f"{self._n}"

    async def command(self, text: str, user: str = ALICE, channel: str = ROOM) -> Sent:
        body = urlencode({
            "token": "legacy", "team_id": TEAM, "channel_id": channel, "user_id": user,
            "user_name": user.lower(), "command": "/warden", "text": text,
            "response_url": self.api.response_url(f"cmd{self._next()}"),
            "trigger_id": f"trigger.{self._next()}"})
        return await self.send(body, signed_headers(body))

    def button_payload(self, action_id: str, value: str, user: str = ALICE, *,
                       channel: str | None = ROOM) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "type": "block_actions", "team": {"id": TEAM}, "api_app_id": "AWARDEN",
            "user": {"id": user, "team_id": TEAM}, "trigger_id": f"trigger.{self._next()}",
            "actions": [{"action_id": action_id, "value": value, "type": "button",
                         "block_id": "b", "action_ts": f"{time.time():.6f}"}],
        }
        if channel:
            payload["channel"] = {"id": channel}
            payload["container"] = {"type": "message", "channel_id": channel}
            payload["response_url"] = self.api.response_url(f"btn{self._next()}")
        return payload

    async def click(self, action_id: str, value: str, user: str = ALICE, *,
                    channel: str | None = ROOM) -> Sent:
        return await self.send_payload(self.button_payload(action_id, value, user,
                                                           channel=channel))

    def posted(self, key: str) -> Message:
        """The message the bot posted for a post key ("incident:1", "run:1")."""
        [found] = [m for m in self.api.state.messages
                   if (m.metadata or {}).get("event_payload", {}).get("key") == key]
        return found

    def latest_view(self) -> dict[str, Any]:
        return list(self.api.state.views.values())[-1]

    async def modal_action(self, view: dict[str, Any], action: dict[str, Any],
                           user: str = ALICE) -> Sent:
        return await self.send_payload({
            "type": "block_actions", "team": {"id": TEAM}, "user": {"id": user, "team_id": TEAM},
            "trigger_id": f"trigger.{self._next()}", "container": {"type": "view",
                                                                   "view_id": view["id"]},
            "view": {**view, "state": {"values": {}}}, "actions": [action]})

    async def submit(self, view: dict[str, Any], reason: str | None, user: str = ALICE) -> Sent:
        values = {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}
        return await self.send_payload({
            "type": "view_submission", "team": {"id": TEAM},
            "user": {"id": user, "team_id": TEAM},
            "view": {**view, "state": {"values": values}}})

    async def home_opened(self, user: str = ALICE) -> Sent:
        body = json.dumps({"type": "event_callback", "team_id": TEAM, "api_app_id": "AWARDEN",
                           "event_id": f"Ev{self._next()}", "event_time": int(time.time()),
                           "event": {"type": "app_home_opened", "user": user, "tab": "home",
                                     "channel": "D" + user[1:], "event_ts": f"{time.time()}"}})
        return await self.send(body, signed_headers(body, content_type="application/json"))

    # -- the store and delivery ------------------------------------------------------------

    async def open_incident(self, f: Finding) -> int:
        async with self.warden.sessions.begin() as s:
            incident = await record_finding(s, f, datetime.now(UTC),
                                            self.warden.pipeline.notifiers)
        return incident.id

    async def idle(self) -> None:
        await self.deps.background.idle(60)

    async def deliver(self, now: datetime | None = None) -> int:
        return await deliver_pending(self.warden.sessions, {"slack": self.notifier},
                                     now or datetime.now(UTC))

    async def settle(self) -> None:
        """Let the work after the acks finish, then run the outbox sender."""
        await self.idle()
        await self.deliver()
        await self.idle()

    async def incident(self, incident_id: int) -> Incident:
        async with self.warden.sessions() as s:
            found = await s.get(Incident, incident_id)
        assert found is not None
        return found

    async def audit(self) -> list[AuditEntry]:
        async with self.warden.sessions() as s:
            return list((await s.execute(sa.select(AuditEntry).order_by(AuditEntry.id))).scalars())

    async def undelivered(self) -> int:
        async with self.warden.sessions() as s:
            return int((await s.execute(sa.select(sa.func.count()).select_from(OutboxMessage)
                                        .where(OutboxMessage.delivered_at.is_(None)))).scalar_one())


@asynccontextmanager
async def running(store_url: str, monkeypatch: pytest.MonkeyPatch, *,
                  actions: Actions | None = None, index_url: str = "https://pypi.example",
                  options: Mapping[str, Any] | None = None) -> AsyncIterator[Harness]:
    """The web app with Slack mounted, serving on a free port (and the Web API server)."""
    api = SlackApiServer()
    await api.start()
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    settings = load_settings(
        None, store={"url": store_url}, access={"admins": ADMINS}, notify={"console": False},
        index={"url": index_url}, slack={"api_url": api.api_url, "channel": "#index-warden"},
        log={"level": "warning"})
    warden = await Warden.open(settings, notifiers={})
    warden.pipeline.notifiers.append("slack")
    slack_options = SlackOptions.from_settings(settings)
    if options:  # e.g. per-severity channels, which the settings may not declare yet
        slack_options = replace(slack_options, **options)
    notifier = SlackNotifier(warden.sessions, slack_options, retry=FAST)
    warden.feed.notifiers["slack"] = notifier
    app = build_app(warden, with_slack=False)
    mount(app, warden, actions=actions, options=slack_options, retry=FAST)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    http = aiohttp.ClientSession()
    harness = Harness(api, warden, app[SLACK], notifier, f"http://127.0.0.1:{port}/slack/events",
                      http)
    try:
        yield harness
        check_block_kit(api)  # every test's payloads, against slack_sdk's block models
    finally:
        await http.close()
        await runner.cleanup()
        await warden.close()
        await api.stop()

