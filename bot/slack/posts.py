"""Post a message exactly once, then edit it in place.

Every message has a stable key. Before chat.postMessage the attempt is committed
(`attempted_at`), after it the channel and `ts`; the message carries the key in its
metadata. When a post ends without a clear answer (timeout, 5xx, dropped connection)
Slack may have stored it, so the next attempt first looks for the key in the channel
(or thread) and only posts when it is not there. An answer that says Slack did nothing
(ok=false, 429 after the retries, no connection) clears the attempt. Edits (chat.update)
are idempotent and skipped when the render did not change.

One sender writes these rows: the outbox delivery of the replica that holds the leader
lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notify.base import DeliveryError
from bot.slack.render.common import Rendered
from bot.store.slack_models import SlackPost

__all__ = ["METADATA_TYPE", "PostFailed", "Posted", "Poster"]

log = structlog.get_logger(__name__)

METADATA_TYPE = "index_warden_post"
LOOKBACK = timedelta(minutes=2)  # clock skew between us and Slack, and the call's duration
MAX_PAGES = 10
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


class PostFailed(DeliveryError):
    """Slack did not take the message (this time); the outbox tries again later."""


@dataclass(frozen=True, slots=True)
class Posted:
    channel: str
    ts: str


def _ambiguous(exc: BaseException) -> bool:
    """May Slack have stored the message although the call failed?"""
    if isinstance(exc, SlackApiError):
        return int(exc.response.status_code) >= 500
    return not isinstance(exc, aiohttp.ClientConnectorError)  # never connected: nothing sent


class Poster:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], posting: AsyncWebClient,
                 web: AsyncWebClient, clock: Callable[[], datetime] | None = None) -> None:
        self.sessions = sessions
        self.posting = posting
        self.web = web
        self.clock = clock or (lambda: datetime.now(UTC))
        self._channel_ids: dict[str, str] = {}

    async def get(self, key: str) -> SlackPost | None:
        async with self.sessions() as s:
            return await s.get(SlackPost, key)

    async def _save(self, key: str, **values: Any) -> SlackPost:
        async with self.sessions.begin() as s:
            row = await s.get(SlackPost, key)
            if row is None:
                row = SlackPost(key=key, **values)
                s.add(row)
            else:
                for name, value in values.items():
                    setattr(row, name, value)
        return row

    async def ensure(self, key: str, channel: str, rendered: Rendered, *,
                     thread_ts: str | None = None, incident_id: int | None = None,
                     editable: bool = True, broadcast: bool = False) -> Posted:
        """The message for `key`, posted if it never was, edited if its render changed."""
        row = await self.get(key)
        if row is not None and row.ts is None and row.attempted_at is not None:
            row = await self._recover(row)
        if row is not None and row.ts is not None:
            if editable and row.digest != rendered.digest:
                await self._update(row, rendered)
            return Posted(row.channel, row.ts)
        await self._save(key, channel=channel, thread_ts=thread_ts, incident_id=incident_id,
                         attempted_at=self.clock(), digest=rendered.digest)
        try:
            response = await self.posting.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=rendered.text, blocks=rendered.blocks,
                reply_broadcast=broadcast or None, unfurl_links=False, unfurl_media=False,
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key}})
        except Exception as exc:
            if not _ambiguous(exc):
                await self._save(key, attempted_at=None)
            raise PostFailed(f"chat.postMessage {key}: {_describe(exc)}") from exc
        posted = Posted(str(response["channel"]), str(response["ts"]))
        await self._save(key, channel=posted.channel, ts=posted.ts, attempted_at=None,
                         posted_at=self.clock())
        return posted

    async def _update(self, row: SlackPost, rendered: Rendered) -> None:
        try:
            await self.web.chat_update(channel=row.channel, ts=row.ts or "", text=rendered.text,
                                       blocks=rendered.blocks)
        except Exception as exc:
            raise PostFailed(f"chat.update {row.key}: {_describe(exc)}") from exc
        await self._save(row.key, digest=rendered.digest, updated_at=self.clock())

    async def _recover(self, row: SlackPost) -> SlackPost:
        """An earlier post ended without an answer: adopt the message if it landed."""
        try:
            found = await self._find(row)
        except SlackApiError as exc:
            if int(exc.response.status_code) == 200:  # ok=false: a scope or channel problem
                log.warning("slack.lookup_refused", key=row.key, error=_describe(exc))
                return await self._save(row.key, attempted_at=None)
            raise PostFailed(f"lookup of {row.key}: {_describe(exc)}") from exc
        except Exception as exc:
            raise PostFailed(f"lookup of {row.key}: {_describe(exc)}") from exc
        if found is None:
            return await self._save(row.key, attempted_at=None)
        log.info("slack.adopted", key=row.key, ts=found.ts)
        # The landed message shows the render of that attempt (its digest is on the row).
        return await self._save(row.key, channel=found.channel, ts=found.ts, attempted_at=None,
                                posted_at=self.clock())

    async def _find(self, row: SlackPost) -> Posted | None:
        channel = await self.channel_id(row.channel)
        assert row.attempted_at is not None
        oldest = f"{(row.attempted_at - LOOKBACK).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            if row.thread_ts:
                page = await self.web.conversations_replies(
                    channel=channel, ts=row.thread_ts, oldest=oldest, cursor=cursor, limit=200,
                    include_all_metadata=True)
            else:
                page = await self.web.conversations_history(
                    channel=channel, oldest=oldest, cursor=cursor, limit=200,
                    include_all_metadata=True)
            for message in page.get("messages") or []:
                meta = message.get("metadata") or {}
                if meta.get("event_type") == METADATA_TYPE and \
                        (meta.get("event_payload") or {}).get("key") == row.key:
                    return Posted(channel, str(message["ts"]))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None

    async def channel_id(self, channel: str) -> str:
        """A channel ID for a configured `#name` (the history and update calls need IDs)."""
        if _CHANNEL_ID.match(channel):
            return channel
        name = channel.lstrip("#")
        if name in self._channel_ids:
            return self._channel_ids[name]
        cursor: str | None = None
        for _ in range(MAX_PAGES * 10):
            page = await self.web.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=1000,
                cursor=cursor)
            for found in page.get("channels") or []:
                self._channel_ids[str(found.get("name"))] = str(found.get("id"))
            if name in self._channel_ids:
                return self._channel_ids[name]
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return channel  # let Slack say channel_not_found


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        return f"HTTP {exc.response.status_code} {error or ''}".strip()
    return f"{type(exc).__name__}: {exc}"[:300]
