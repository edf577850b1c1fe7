"""Who acted, where, and how to answer them privately."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

__all__ = ["Who", "tell"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Who:
    """The person behind an interaction and the ways back to them."""

    user: str
    channel: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None

    @classmethod
    def of(cls, body: dict[str, Any]) -> Who:
        user = body.get("user")
        user_id = user.get("id") if isinstance(user, dict) else body.get("user_id")
        channel = body.get("channel")
        channel_id = channel.get("id") if isinstance(channel, dict) else body.get("channel_id")
        container = body.get("container") or {}
        urls = body.get("response_urls") or []
        response_url = body.get("response_url") or (urls[0].get("response_url") if urls else None)
        return cls(str(user_id or ""), channel_id or container.get("channel_id"),
                   response_url, body.get("trigger_id"))

    def in_channel(self, channel: str | None) -> Who:
        """The same person, answered in `channel` (a modal remembers where it came from)."""
        return Who(self.user, channel or self.channel, self.response_url, self.trigger_id)


async def tell(client: AsyncWebClient, who: Who, text: str,
               blocks: list[dict[str, Any]] | None = None) -> None:
    """An answer only `who` sees: through the response URL, as an ephemeral message in the
    channel, or in the app's direct messages. Never raises (the action itself is done)."""
    try:
        if who.response_url:
            await AsyncWebhookClient(who.response_url, session=client.session).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        elif who.channel:
            await client.chat_postEphemeral(channel=who.channel, user=who.user, text=text,
                                            blocks=blocks)
        else:
            await client.chat_postMessage(channel=who.user, text=text, blocks=blocks)
    except Exception as exc:
        log.warning("slack.tell_failed", user=who.user, error=f"{type(exc).__name__}: {exc}")
