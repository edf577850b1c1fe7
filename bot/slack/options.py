"""The Slack options the app and the notifier read, taken from the settings.

Secrets are unwrapped here, once, so the rest of the Slack layer handles plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["SlackOptions", "configured"]


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


@dataclass(frozen=True, slots=True)
class SlackOptions:
    api_url: str = "https://slack.com/api/"
    channel: str = "#index-warden"
    channels: Mapping[str, str] = field(default_factory=dict)  # severity -> channel
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None
    socket_mode: bool = False
    timeout_seconds: float = 10.0
    admins: frozenset[str] = frozenset()
    index_url: str = "https://pypi.org"

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackOptions:
        s = settings.slack
        return cls(
            api_url=s.api_url, channel=s.channel,
            channels={str(k): v for k, v in s.channels.items()},
            bot_token=_secret(s.bot_token), signing_secret=_secret(s.signing_secret),
            app_token=_secret(s.app_token),
            socket_mode=s.socket_mode, timeout_seconds=s.timeout_seconds,
            admins=frozenset(settings.access.admins), index_url=settings.index.url,
        )

    def channel_for(self, severity: str) -> str:
        """Where an incident of this severity is posted (one channel per severity, or one)."""
        return self.channels.get(severity) or self.channel

    @property
    def http_enabled(self) -> bool:
        return bool(self.bot_token and self.signing_secret)

    @property
    def socket_enabled(self) -> bool:
        return bool(self.socket_mode and self.bot_token and self.app_token)


def configured(settings: Settings) -> bool:
    """Is there enough to talk to Slack (a bot token, and a signing secret or Socket Mode)?
    (Read before slack-bolt is imported: it loads only where Slack is used.)"""
    options = SlackOptions.from_settings(settings)
    return options.http_enabled or options.socket_enabled
