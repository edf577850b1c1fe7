"""Build the devpi feed from configuration (`[devpi]`, the blob storage, the store)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.feed.client import IndexClient, IndexUnavailable, RetryPolicy
from bot.feed.devpi import DevpiFeed
from bot.feed.devpi_sync import DevpiSync, ServerChanged
from detectors.confusion.internal import InternalDeletionDetector
from playbooks.storage.base import BlobStorage
from playbooks.wiring import STORAGES

__all__ = ["DevpiFollower", "DevpiNotConfigured", "devpi_pass", "open_devpi"]

log = structlog.get_logger(__name__)


class DevpiNotConfigured(ValueError):
    """`[devpi]` lacks what following a devpi server needs (message names the option)."""


@dataclass
class DevpiFollower:
    sync: DevpiSync
    client: IndexClient
    storage: BlobStorage

    async def close(self) -> None:
        await self.client.close()
        await self.storage.close()


async def open_devpi(settings: Settings, sessions: async_sessionmaker[AsyncSession],
                     notifiers: Sequence[str], deadline_seconds: float | None = None
                     ) -> DevpiFollower:
    cfg = settings.devpi
    if not cfg.url:
        raise DevpiNotConfigured("devpi.url must be set to follow a devpi server")
    key = cfg.key()
    if key is None:
        raise DevpiNotConfigured("WARDEN_DEVPI_REPLICA_KEY must hold devpi's replica key "
                                 "(see README, Private indexes)")
    client = IndexClient(
        cfg.url, timeout_seconds=settings.index.timeout_seconds,
        max_response_bytes=cfg.max_response_bytes,
        retry=RetryPolicy(settings.index.max_retries, settings.index.backoff_seconds,
                          settings.index.backoff_max_seconds, deadline_seconds),
        user_agent=settings.index.user_agent)
    storage = await STORAGES[settings.storage.kind](settings.storage)
    feed = DevpiFeed(client, key, cfg.replica_uuid, cfg.max_file_bytes)
    sync = DevpiSync(feed, sessions, storage, indexes=cfg.indexes, url=cfg.url,
                     detectors=[InternalDeletionDetector(cfg.indexes)], notifiers=notifiers,
                     stall_incident_seconds=settings.feed.stall_incident_seconds)
    return DevpiFollower(sync, client, storage)


async def devpi_pass(settings: Settings, sessions: async_sessionmaker[AsyncSession],
                     notifiers: Sequence[str], deliver: Callable[[], Awaitable[int]],
                     stop: asyncio.Event) -> int:
    """One pass of `warden run`'s devpi job: follow the primary to its head; a primary
    that cannot be read is logged and tried again at the next poll (the cursor stays)."""
    follower = await open_devpi(settings, sessions, notifiers)
    try:
        result = await follower.sync.sync(stop)
    except (IndexUnavailable, ServerChanged) as exc:
        log.warning("devpi.unavailable", error=str(exc)[:500])
        return 0
    finally:
        await follower.close()
    if result.incidents:
        await deliver()
    if result.events:
        log.info("devpi.synced", events=result.events, cursor=result.cursor,
                 incidents=len(set(result.incidents)))
    return result.events
