"""Build the devpi feed from configuration (`[devpi]`, the blob storage, the store)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.feed.client import IndexClient, RetryPolicy
from bot.feed.devpi import DevpiFeed
from bot.feed.devpi_sync import DevpiSync
from detectors.confusion.internal import InternalDeletionDetector
from playbooks.storage.base import BlobStorage
from playbooks.wiring import STORAGES

__all__ = ["DevpiFollower", "DevpiNotConfigured", "open_devpi"]


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
                     detectors=[InternalDeletionDetector(cfg.indexes)], notifiers=notifiers)
    return DevpiFollower(sync, client, storage)
