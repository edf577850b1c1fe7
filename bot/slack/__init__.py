"""The Slack app: incidents admins triage and act on without leaving Slack.

- `mount(app, warden)` adds `POST /slack/events` (bot.slack.inbound: the signature
  checked on the raw bytes, then bolt) to the bot's web app, and/or connects over
  Socket Mode when `slack.socket_mode` is set.
- `SlackNotifier` is the outbox sender ("slack"): incident messages posted once and
  updated in place, the timeline as a thread, playbook runs in it.

Listeners only ack(); the work (store, actions layer, Web API) runs afterwards in
background tasks that shut down with the web app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
import structlog
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.slack.app import Identity, build_bolt_app
from bot.slack.client import RetryPolicy
from bot.slack.deps import SlackDeps
from bot.slack.inbound import events_handler
from bot.slack.notifier import SlackNotifier
from bot.slack.options import SlackOptions

if TYPE_CHECKING:
    from bot.actions import Actions
    from bot.config import Settings
    from bot.wiring import Warden
    from playbooks.wiring import Backends

__all__ = ["SLACK", "SlackDeps", "SlackNotifier", "SlackOptions", "build_notifier", "configured",
           "mount"]

log = structlog.get_logger(__name__)

SLACK = web.AppKey("slack", SlackDeps)
EVENTS_PATH = "/slack/events"


def configured(settings: Settings) -> bool:
    """Is there enough to talk to Slack (a bot token, and a signing secret or Socket Mode)?"""
    options = SlackOptions.from_settings(settings)
    return options.http_enabled or options.socket_enabled


def build_notifier(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> SlackNotifier:
    return SlackNotifier(sessions, SlackOptions.from_settings(settings))


async def _open_actions(deps: SlackDeps, warden: Warden) -> Backends | None:
    from bot.actions import Actions
    from playbooks.settings import sections
    from playbooks.wiring import BackendConfigError, open_backends

    playbooks_cfg, storage_cfg = sections(warden.settings)
    try:
        backends = await open_backends(playbooks_cfg, storage_cfg)
    except BackendConfigError as exc:
        deps.actions_problem = f"Playbooks are not available on this instance: {exc}"
        log.warning("slack.playbooks_unavailable", error=str(exc))
        return None
    deps.actions = Actions(warden.sessions, backends, playbooks_cfg, warden.settings.access.admins,
                           notifiers=warden.pipeline.notifiers)
    return backends


def mount(app: web.Application, warden: Warden, *, actions: Actions | None = None,
          options: SlackOptions | None = None, retry: RetryPolicy | None = None) -> SlackDeps:
    """Serve Slack from `app`: HTTP (signing secret) and/or Socket Mode (app token).

    `actions` defaults to one opened at start-up from the `[playbooks]` and `[storage]`
    settings; without them, Slack still triages and explains why playbooks are missing.
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
    owned: list[Backends] = []
    sockets: list[AsyncSocketModeHandler] = []

    async def start(_: web.Application) -> None:
        # Pooled connections: the per-request clients bolt makes share this session.
        deps.http = bolt.client.session = aiohttp.ClientSession()
        deps.spawn(identity.load(bolt.client), "auth-test")
        if deps.actions is None and (backends := await _open_actions(deps, warden)) is not None:
            owned.append(backends)
        if options.socket_enabled:
            handler = AsyncSocketModeHandler(bolt, options.app_token)
            await handler.connect_async()  # type: ignore[no-untyped-call]  # bolt: unannotated
            sockets.append(handler)

    async def stop(_: web.Application) -> None:
        for handler in sockets:
            await handler.close_async()  # type: ignore[no-untyped-call]  # bolt: unannotated
        await deps.background.close(warden.settings.service.shutdown_seconds)
        await deps.seen.flush()
        for backends in owned:
            await backends.close()
        if deps.http is not None:
            await deps.http.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return deps
