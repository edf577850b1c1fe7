"""The Slack app: the slack-bolt AsyncApp (verification, replay guard, admin check,
listeners) and `mount`, which serves it from the bot's web app.

- `mount(app, warden)` adds `POST /slack/events` (bot.slack.inbound: the signature
  checked on the raw bytes, then bolt) to the bot's web app, and/or connects over
  Socket Mode when `slack.socket_mode` is set.
- The outbox sender is bot.slack.notifier.SlackNotifier ("slack"): incident messages
  posted once and updated in place, the timeline as a thread, playbook runs in it.

Listeners only ack(); the work (store, actions layer, Web API) runs afterwards in
background tasks that shut down with the web app.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import aiohttp
import structlog
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import RetryPolicy, web_client
from bot.slack.deps import SlackDeps
from bot.slack.inbound import events_handler
from bot.slack.listeners import commands, home, incidents, playbooks
from bot.slack.middleware import AdminGuard, AttachDeps, ReplayGuard
from bot.slack.options import SlackOptions

if TYPE_CHECKING:
    from bot.actions import Actions
    from bot.wiring import Warden

__all__ = ["EVENTS_PATH", "SLACK", "Identity", "build_bolt_app", "mount"]

log = structlog.get_logger(__name__)

SLACK = web.AppKey("slack", SlackDeps)
EVENTS_PATH = "/slack/events"


class _TokenNotice(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN "will be ignored/unused" because `authorize` and a
    client are given; it is not ignored: authorize() hands it to every request."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "`token` will be unused" not in message and "will be ignored" not in message


_BOLT_LOG = logging.getLogger("bot.slack.bolt")
_BOLT_LOG.addFilter(_TokenNotice())


class Identity:
    """The bot's own user, learnt from auth.test once (at start-up, off the request path)."""

    def __init__(self) -> None:
        self.bot_user_id: str | None = None
        self.bot_id: str | None = None
        self.team_id: str | None = None

    async def load(self, client: AsyncWebClient) -> None:
        try:
            found = await client.auth_test()
        except Exception as exc:  # Slack down at start-up: requests still work without it
            log.warning("slack.auth_test_failed", error=f"{type(exc).__name__}: {exc}")
            return
        self.bot_user_id, self.bot_id = found.get("user_id"), found.get("bot_id")
        self.team_id = found.get("team_id")
        log.info("slack.connected", team=self.team_id, bot_user=self.bot_user_id)


def build_bolt_app(deps: SlackDeps, identity: Identity | None = None,
                   retry: RetryPolicy | None = None) -> AsyncApp:
    """One workspace, one bot token. Authorization makes no Web API call per request (the
    identity comes from the start-up auth.test), so ack() never waits on Slack."""
    options = deps.options
    token = options.bot_token or ""
    identity = identity or Identity()

    async def authorize(context: AsyncBoltContext, enterprise_id: str | None,
                        team_id: str | None, user_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id or identity.team_id,
                               bot_token=token, bot_user_id=identity.bot_user_id,
                               bot_id=identity.bot_id, user_id=user_id)

    app = AsyncApp(
        name="index-warden",
        signing_secret=options.signing_secret or "",  # Socket Mode alone needs none
        authorize=authorize,
        client=web_client(options, retry, token=token),
        before_authorize=ReplayGuard(deps.seen),
        process_before_response=True,  # listeners only ack; work runs in deps.background
        logger=_BOLT_LOG,
    )
    app.use(AttachDeps(deps))
    app.use(AdminGuard(deps))
    for listeners in (incidents, playbooks, commands, home):
        listeners.register(app)
    return app


def mount(app: web.Application, warden: Warden, *, actions: Actions | None = None,
          options: SlackOptions | None = None, retry: RetryPolicy | None = None) -> SlackDeps:
    """Serve Slack from `app`: HTTP (signing secret) and/or Socket Mode (app token).

    `actions` defaults to the process's door, opened at start-up (bot.wiring): without
    playbook backends, Slack still triages and explains why playbooks are missing.
    `options` defaults to the `[slack]` settings.
    """
    options = options or SlackOptions.from_settings(warden.settings)
    deps = SlackDeps(warden.sessions, options, list(warden.pipeline.notifiers), warden.settings,
                     actions=actions)
    identity = Identity()
    bolt = build_bolt_app(deps, identity, retry)
    app[SLACK] = deps
    if options.http_enabled:
        app.router.add_post(EVENTS_PATH, events_handler(bolt, deps, options.signing_secret or ""))
    owned: list[Actions] = []
    sockets: list[AsyncSocketModeHandler] = []

    async def start(_: web.Application) -> None:
        # Pooled connections: the per-request clients bolt makes share this session.
        deps.http = bolt.client.session = aiohttp.ClientSession()
        deps.spawn(identity.load(bolt.client), "auth-test")
        if deps.actions is None:
            deps.actions = await warden.open_actions()
            owned.append(deps.actions)
            if deps.actions.backends is None:
                log.warning("slack.playbooks_unavailable", error=deps.actions.unavailable)
        if options.socket_enabled:
            handler = AsyncSocketModeHandler(bolt, options.app_token)
            await handler.connect_async()  # type: ignore[no-untyped-call]  # bolt: unannotated
            sockets.append(handler)

    async def stop(_: web.Application) -> None:
        for handler in sockets:
            await handler.close_async()  # type: ignore[no-untyped-call]  # bolt: unannotated
        await deps.background.close(warden.settings.service.shutdown_seconds)
        await deps.seen.flush()
        for door in owned:
            await door.close()
        if deps.http is not None:
            await deps.http.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return deps
