"""The composition root: one place that builds the bot's parts from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.feed.client import IndexClient, RetryPolicy
from bot.feed.pypi import PyPIFeed
from bot.feed.sync import FeedSync
from bot.ledger import Ledger, TrackedProjects
from bot.notify.base import Notifier
from bot.notify.console import ConsoleNotifier
from bot.pipeline import Pipeline
from bot.store.db import create_engine, is_sqlite, session_factory
from bot.store.migrate import current_revisions, head_revisions, upgrade_async
from detectors.base import Detector
from detectors.critical import CriticalChangeDetector, mark_critical, read_top_list

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"


class SchemaOutOfDate(Exception):
    pass


async def ensure_schema(engine: AsyncEngine, url: str) -> None:
    """SQLite (embedded, single process) upgrades itself; PostgreSQL must be upgraded
    deliberately with `warden db upgrade`, so replicas never race on a migration."""
    if await current_revisions(engine) == head_revisions():
        return
    if is_sqlite(url):
        await upgrade_async(url)
        return
    raise SchemaOutOfDate("the database schema is not current: run `warden db upgrade` first")


def build_notifiers(settings: Settings) -> dict[str, Notifier]:
    notifiers: dict[str, Notifier] = {}
    if settings.notify.console:
        notifiers["console"] = ConsoleNotifier()
    return notifiers


def build_detectors(settings: Settings) -> list[Detector]:
    return [CriticalChangeDetector()]


@dataclass
class Warden:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    client: IndexClient
    pipeline: Pipeline
    feed: FeedSync

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        detectors: list[Detector] | None = None,
        notifiers: dict[str, Notifier] | None = None,
    ) -> Warden:
        engine = create_engine(settings.store.url, echo=settings.store.echo)
        await ensure_schema(engine, settings.store.url)
        sessions = session_factory(engine)
        async with sessions() as session:
            tracked = await TrackedProjects.load(session)
        notifiers = build_notifiers(settings) if notifiers is None else notifiers
        pipeline = Pipeline(
            sessions, settings, build_detectors(settings) if detectors is None else detectors,
            tracked, list(notifiers),
        )
        client = IndexClient(
            settings.index.url,
            timeout_seconds=settings.index.timeout_seconds,
            max_response_bytes=settings.index.max_response_bytes,
            retry=RetryPolicy(
                settings.index.max_retries, settings.index.backoff_seconds,
                settings.index.backoff_max_seconds,
            ),
            user_agent=settings.index.user_agent,
        )
        feed = FeedSync(
            PyPIFeed(client), pipeline, batch_size=settings.feed.batch_size,
            start_serial=settings.feed.start_serial,
            ledger_concurrency=settings.feed.ledger_concurrency, notifiers=notifiers,
        )
        return cls(settings, engine, sessions, client, pipeline, feed)

    async def close(self) -> None:
        await self.client.close()
        await self.engine.dispose()

    async def seed_critical(self) -> int:
        """Flag the configured top projects and the admins' list as critical (sticky)."""
        cfg = self.settings.critical
        now = datetime.now(UTC)
        top_list = Path(cfg.top_list) if cfg.top_list else REPO_CONFIG / "top-pypi-projects.tsv"
        added = 0
        async with self.sessions.begin() as session:
            ledger = Ledger(session, self.pipeline.tracked)
            if cfg.top_count and top_list.exists():
                names = read_top_list(top_list, cfg.top_count)
                added += await mark_critical(ledger, names, f"top {cfg.top_count} by downloads", now)
            added += await mark_critical(ledger, cfg.projects, "listed by an admin", now)
        return added
