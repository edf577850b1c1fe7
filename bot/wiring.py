"""The composition root: one place that builds the bot's parts from the settings."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.actions import Actions
from bot.config import Settings
from bot.critical import recompute
from bot.feed.client import IndexClient, RetryPolicy
from bot.feed.pypi import PyPIFeed
from bot.feed.reports import ReportsSource, typo_check
from bot.feed.sync import FeedSync
from bot.ledger import TrackedProjects
from bot.metrics import SWEEP_PROGRESS
from bot.notify.base import Notifier
from bot.notify.console import ConsoleNotifier
from bot.pipeline import Pipeline
from bot.store.connect import no_database_at, open_store
from bot.store.db import create_engine, is_sqlite, session_factory
from bot.store.migrate import current_revisions, head_revisions, known_revisions, upgrade_async
from bot.store.models import Base, CriticalMark
from detectors.base import Detector
from detectors.confusion.detector import ConfusionDetector
from detectors.critical import CriticalChangeDetector
from detectors.domains.detector import DomainDetector
from detectors.typosquat.detector import TyposquatDetector
from playbooks.wiring import BackendConfigError, Backends, open_backends

log = structlog.get_logger(__name__)


class SchemaOutOfDate(Exception):
    pass


async def ensure_schema(engine: AsyncEngine, url: str) -> None:
    """SQLite (embedded, single process) upgrades itself; PostgreSQL must be upgraded
    deliberately with `warden db upgrade`, so replicas never race on a migration."""
    current = await current_revisions(engine)
    if unknown := sorted(current - known_revisions()):
        # Alembic would stop with a traceback on a revision it has no file for.
        raise SchemaOutOfDate(
            f"the database was migrated by a newer index-warden (revision(s) "
            f"{', '.join(unknown)} unknown to this one): run that version, or a store of "
            "this version's own")
    if current != head_revisions():
        if not is_sqlite(url):
            raise SchemaOutOfDate(
                "the database schema is not current: run `warden db upgrade` first")
        await upgrade_async(url)
    await _tables_present(engine)


async def _tables_present(engine: AsyncEngine) -> None:
    """A store at the current revision that lacks tables (dropped by hand, or another
    database behind the URL) would fail at the first query with a traceback."""
    async with engine.connect() as conn:
        present = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    missing = sorted(set(Base.metadata.tables) - present)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5
                                          else "")
        raise SchemaOutOfDate(
            f"the store's database is marked current but lacks table(s) {shown}: check "
            "store.url / WARDEN_STORE_URL points at index-warden's database, or restore it "
            "from a backup")


def build_notifiers(
    settings: Settings, sessions: async_sessionmaker[AsyncSession] | None = None,
    console: Console | None = None,
) -> dict[str, Notifier]:
    """`console`: where the console notifier prints (stdout by default; a command whose
    stdout is JSON sends it to stderr)."""
    notifiers: dict[str, Notifier] = {}
    if settings.notify.console:
        notifiers["console"] = ConsoleNotifier(console)
    if settings.slack.bot_token is not None and sessions is not None:
        from bot.slack.notifier import build_notifier  # slack-bolt loads only where used

        notifiers["slack"] = build_notifier(settings, sessions)
    return notifiers


def sweep_progress(stage: str, done: int, total: int) -> None:
    SWEEP_PROGRESS.labels(stage).set(done / total if total else 1.0)


def build_detectors(settings: Settings) -> list[Detector]:
    return [CriticalChangeDetector(settings.critical, settings.index.url),
            TyposquatDetector(settings.typosquat,
                              extra_protected=tuple(settings.critical.projects),
                              index_url=settings.index.url),
            DomainDetector(settings.domains, progress=sweep_progress),
            # Quarantine acts on the public project only where the bot administers that
            # index (the warehouse backend); on devpi nothing can act on PyPI's project.
            ConfusionDetector(settings.devpi.indexes,
                              ("quarantine",) if settings.playbooks.backend == "warehouse"
                              else ())]


def _reports(settings: Settings, sessions: async_sessionmaker[AsyncSession],
             pipeline: Pipeline) -> ReportsSource | None:
    """The malware reports source, when reports are enabled and a Warehouse database is
    configured (reports.warehouse_url, else the playbooks' playbooks.warehouse_url)."""
    cfg = settings.reports
    url = cfg.warehouse_url or (settings.playbooks.warehouse_url
                                if settings.playbooks.backend == "warehouse" else None)
    if not cfg.enabled or not url:
        return None
    if (why := no_database_at(url)) is not None:
        # No reports rather than a traceback for every command, or an empty SQLite file
        # created. The playbook commands say what is wrong with playbooks.warehouse_url
        # (exit 2); a URL of the reports' own is said here.
        if cfg.warehouse_url:
            log.warning("reports.off", why=f"reports.warehouse_url: {why}")
        return None
    typo = next((d for d in pipeline.detectors if isinstance(d, TyposquatDetector)), None)
    return ReportsSource(sessions, create_engine(url), cfg, pipeline.notifiers,
                         index_url=settings.index.url,
                         typo=typo_check(typo) if typo is not None else None,
                         service_account=settings.playbooks.warehouse_account,
                         tracked=pipeline.tracked)


@dataclass
class Warden:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    client: IndexClient
    pipeline: Pipeline
    feed: FeedSync
    reports: ReportsSource | None = None  # malware reports, with a Warehouse database

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        detectors: list[Detector] | None = None,
        notifiers: dict[str, Notifier] | None = None,
        console: Console | None = None,
        deadline_seconds: float | None = None,
    ) -> Warden:
        """`deadline_seconds`: how long one request to the index may take, retries
        included (a command run by hand); None retries as the policy says (the service)."""
        engine = await open_store(settings.store.url, echo=settings.store.echo)
        await ensure_schema(engine, settings.store.url)
        sessions = session_factory(engine)
        async with sessions() as session:
            tracked = await TrackedProjects.load(session)
        if notifiers is None:
            notifiers = build_notifiers(settings, sessions, console)
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
                settings.index.backoff_max_seconds, deadline_seconds,
            ),
            user_agent=settings.index.user_agent,
        )
        feed = FeedSync(
            PyPIFeed(client), pipeline, batch_size=settings.feed.batch_size,
            start_serial=settings.feed.start_serial,
            ledger_concurrency=settings.feed.ledger_concurrency, notifiers=notifiers,
            resend_retries=settings.index.max_retries,
            resend_backoff_seconds=settings.index.backoff_seconds,
            stall_incident_seconds=settings.feed.stall_incident_seconds,
        )
        return cls(settings, engine, sessions, client, pipeline, feed,
                   _reports(settings, sessions, pipeline))

    async def close(self) -> None:
        if self.reports is not None:
            await self.reports.close()
        await self.client.close()
        await self.engine.dispose()

    async def open_actions(self) -> Actions:
        """The door for this process, with the notifiers every face shares (Slack's
        included: a playbook run from the CLI updates the incident's Slack message).
        Without usable playbook backends (not configured, unreachable) triage and the
        critical set still work and playbook calls say why not. Close it after use."""
        try:
            backends: Backends | None = await open_backends(self.settings.playbooks,
                                                            self.settings.storage)
            unavailable = ""
        except BackendConfigError as exc:
            backends, unavailable = None, f"Playbooks are not available on this instance: {exc}"
        return Actions(self.sessions, backends, self.settings.playbooks,
                       self.settings.access.admins, notifiers=self.pipeline.notifiers,
                       tracked=self.pipeline.tracked, unavailable=unavailable)

    async def ensure_critical_set(self) -> None:
        """On the very first start, compute the critical set (backfill comes later, from
        `warden critical recompute` or the daily job, so start-up stays quick)."""
        async with self.sessions() as session:
            if (await session.execute(select(CriticalMark.id).limit(1))).first() is not None:
                return
        await recompute(self.sessions, self.settings, self.pipeline.tracked, self.feed.feed,
                        backfill=False)
