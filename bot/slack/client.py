"""Slack Web API clients: the base URL from the settings and slack_sdk's retry handlers.

Two kinds, because a retry is only safe when the call is idempotent:

- `web_client()` for everything that may be sent twice (chat.update, views.*,
  ephemeral replies, lookups): it retries on 429 (honouring Retry-After), on 500/503
  and on connection errors.
- `posting_client()` for chat.postMessage, which Slack may have executed even when it
  answered 5xx or never answered: it retries only on 429 (Slack did nothing then). Other
  failures go back to the outbox, and the next attempt looks for the message first
  (bot.slack.posts).
"""

from __future__ import annotations

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.options import SlackOptions

__all__ = ["RetryPolicy", "posting_client", "web_client"]


class RetryPolicy:
    """How often and how patiently to retry (tests shorten the backoff)."""

    def __init__(self, rate_limited: int = 3, server_errors: int = 2,
                 backoff_seconds: float = 0.5) -> None:
        self.rate_limited = rate_limited
        self.server_errors = server_errors
        self.backoff = BackoffRetryIntervalCalculator(backoff_factor=backoff_seconds)

    def all_handlers(self) -> list[AsyncRetryHandler]:
        return [
            AsyncRateLimitErrorRetryHandler(max_retry_count=self.rate_limited),
            AsyncServerErrorRetryHandler(max_retry_count=self.server_errors,
                                         interval_calculator=self.backoff),
            AsyncConnectionErrorRetryHandler(max_retry_count=self.server_errors,
                                             interval_calculator=self.backoff),
        ]

    def rate_limit_only(self) -> list[AsyncRetryHandler]:
        return [AsyncRateLimitErrorRetryHandler(max_retry_count=self.rate_limited)]


def _client(options: SlackOptions, handlers: list[AsyncRetryHandler],
            token: str | None) -> AsyncWebClient:
    # slack_sdk takes whole seconds; a sub-second setting still gets one second.
    return AsyncWebClient(token=token or options.bot_token, base_url=options.api_url,
                          timeout=max(1, round(options.timeout_seconds)),
                          retry_handlers=handlers)


def web_client(options: SlackOptions, retry: RetryPolicy | None = None,
               token: str | None = None) -> AsyncWebClient:
    return _client(options, (retry or RetryPolicy()).all_handlers(), token)


def posting_client(options: SlackOptions, retry: RetryPolicy | None = None) -> AsyncWebClient:
    return _client(options, (retry or RetryPolicy()).rate_limit_only(), None)
