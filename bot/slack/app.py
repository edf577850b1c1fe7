"""The slack-bolt AsyncApp: verification, replay guard, admin check, listeners."""

from __future__ import annotations

import logging

import structlog
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import RetryPolicy, web_client
from bot.slack.deps import SlackDeps
from bot.slack.listeners import commands, home, incidents, playbooks
from bot.slack.middleware import AdminGuard, AttachDeps, ReplayGuard

__all__ = ["Identity", "build_bolt_app"]

log = structlog.get_logger(__name__)


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
