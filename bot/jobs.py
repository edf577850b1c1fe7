"""The scheduled work of `warden run`, each a plain async function of the Warden.

The leader runs them; each is safe to run again after a crash (the feed from its
cursor, the outbox from undelivered rows, the recompute because it only adds).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import and_, func, select

from bot.critical import backfill_ledger, recompute
from bot.feed.client import IndexUnavailable
from bot.feed.index_accounts import ReadReport, read_index_accounts
from bot.feed.metadata_emails import use_metadata_emails
from bot.incidents import Status, record_finding
from bot.metrics import (
    EVENTS,
    FEED_ERRORS,
    FEED_LAG_SECONDS,
    FEED_LAG_SERIALS,
    INCIDENTS_OPEN,
)
from bot.notify.outbox import enqueue
from bot.pipeline import Pipeline, touch_cursor
from bot.store.models import Event, FeedCursor, Incident, TimelineEntry
from bot.wiring import Warden
from detectors.domains.coverage import coverage, publish
from detectors.reports.assess import DETECTOR as REPORTS_DETECTOR
from detectors.reports.assess import KIND as REPORTS_KIND

log = structlog.get_logger(__name__)


async def feed_pass(warden: Warden, stop: asyncio.Event) -> int:
    """Catch up with the changelog; the stop request is honoured between batches."""
    try:
        result = await warden.feed.sync(stop=stop)
        last = await warden.feed.feed.last_serial()
    except IndexUnavailable as exc:
        FEED_ERRORS.labels("index-unavailable").inc()
        log.warning("feed.index_unavailable", error=str(exc))
        return 0
    for kind, count in result.by_kind.items():
        EVENTS.labels(kind).inc(count)
    async with warden.sessions.begin() as session:
        await touch_cursor(session, warden.pipeline.feed_name, datetime.now(UTC))
        newest = (await session.execute(select(func.max(Event.at)))).scalar_one_or_none()
    FEED_LAG_SERIALS.set(max(0, last - (result.cursor or 0)))
    if newest is not None:
        FEED_LAG_SECONDS.set(max(0.0, (datetime.now(UTC) - newest).total_seconds()))
    if result.events:
        log.info("feed.synced", events=result.events, cursor=result.cursor,
                 incidents=len(set(result.incidents)))
    return result.events


async def reports_pass(warden: Warden) -> int:
    """Read new malware reports into incidents and close those decided meanwhile; new
    incidents leave through the outbox at once (time to the admins is the measure)."""
    if warden.reports is None:
        return 0
    polled = await warden.reports.poll()
    closed = await warden.reports.settle()
    if polled.incidents or closed:
        await warden.feed.deliver()
    return polled.reports


async def reports_chase(warden: Warden) -> int:
    """Remind (and once page) the malware reports nobody acknowledged."""
    if warden.reports is None:
        return 0
    reminded, paged = await warden.reports.chase()
    if reminded or paged:
        await warden.feed.deliver()
    return len(reminded) + len(paged)


async def backfill_critical_ledger(warden: Warden) -> int:
    """Fill the ledger of every critical project not synced yet (first start, or a new
    leader after one that stopped half way), so a deletion on day one can be restored."""
    def progress(phase: str, done: int, total: int) -> None:
        log.info("critical.backfill", done=done, total=total)

    done = await backfill_ledger(warden.sessions, warden.pipeline.tracked, warden.feed.feed,
                                 progress=progress)
    if done:
        log.info("critical.backfilled", projects=done)
    return done


async def deliver_outbox(warden: Warden) -> int:
    return await warden.feed.deliver()


async def recompute_critical(warden: Warden) -> None:
    report = await recompute(warden.sessions, warden.settings, warden.pipeline.tracked,
                             warden.feed.feed)
    log.info("critical.recomputed", added=len(report.added), backfilled=report.backfilled)


async def read_accounts(warden: Warden, now: datetime) -> ReadReport | None:
    """Every maintainer's addresses: from the index's database when the bot can read it
    (incrementally), else from package metadata kept in the ledger (a weaker signal)."""
    url = warden.settings.playbooks.warehouse_url
    if not url:
        added = await use_metadata_emails(warden.sessions, now)
        log.info("accounts.from_metadata", addresses=added)
        return None
    report = await read_index_accounts(warden.sessions, url, now)
    log.info("accounts.read", full=report.full, changed=report.changed,
             written=report.written, dropped=report.dropped)
    return report


async def domain_sweep(warden: Warden, pipeline: Pipeline | None = None) -> list[int]:
    """Read the maintainers' accounts, then run the detectors' scheduled sweeps (the
    domain sweep among them) and publish the coverage. `warden domain sweep` runs this
    very function with its own pipeline (its options), so both take the same path."""
    now = datetime.now(UTC)
    await read_accounts(warden, now)
    ids = await (pipeline or warden.pipeline).sweep()
    async with warden.sessions() as session:
        publish(await coverage(session, warden.settings.domains, datetime.now(UTC)),
                datetime.now(UTC))
    return ids


async def share_work(warden: Warden) -> bool:
    """Help with the detectors' scheduled work in progress (every replica does)."""
    now = datetime.now(UTC)
    helped = [await d.share(warden.sessions, now) for d in warden.pipeline.detectors]
    return any(helped)


async def collect_pending(warden: Warden) -> int:
    """Turn findings other replicas' shared work left pending into incidents (leader)."""
    now = datetime.now(UTC)
    async with warden.sessions.begin() as session:
        findings = [f for d in warden.pipeline.detectors for f in await d.pending(session, now)]
        for finding in findings:
            await record_finding(session, finding, now, warden.pipeline.notifiers)
    return len(findings)


async def remind(warden: Warden, now: datetime | None = None) -> int:
    """Announce again the open incidents nobody acknowledged within the delay.

    Malware report incidents are left to the reports source's own chase (reports.
    remind_after_minutes, remind_every_minutes, escalation) while it runs: reminded by
    both, a report was announced twice on its own schedule and the generic one."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(minutes=warden.settings.service.reminder_after_minutes)
    reminded = 0
    async with warden.sessions.begin() as session:
        last_touch = (
            select(TimelineEntry.incident_id, func.max(TimelineEntry.at).label("at"))
            .where(TimelineEntry.action.in_(["opened", "reminded", "status"]))
            .group_by(TimelineEntry.incident_id).subquery()
        )
        query = (select(Incident).join(last_touch, last_touch.c.incident_id == Incident.id)
                 .where(Incident.status == Status.OPEN.value, last_touch.c.at <= cutoff))
        if warden.reports is not None:
            query = query.where(~and_(Incident.detector == REPORTS_DETECTOR,
                                      Incident.kind == REPORTS_KIND))
        stale = (await session.execute(query)).scalars().all()
        for incident in stale:
            session.add(TimelineEntry(incident_id=incident.id, at=now, actor="warden",
                                      action="reminded", detail={}))
            await enqueue(session, incident, "incident.reminder", now, warden.pipeline.notifiers)
            reminded += 1
    return reminded


async def count_open(warden: Warden) -> None:
    """Refresh the open-incident gauge from the store (the truth, shared by replicas)."""
    async with warden.sessions() as session:
        rows = (await session.execute(
            select(Incident.detector, Incident.severity, func.count())
            .where(Incident.open_key.is_not(None))
            .group_by(Incident.detector, Incident.severity)
        )).all()
    INCIDENTS_OPEN.clear()
    for detector, severity, count in rows:
        INCIDENTS_OPEN.labels(detector, severity).set(count)


async def feed_age_seconds(warden: Warden) -> float | None:
    """Seconds since the feed last completed a pass (None: it never has)."""
    async with warden.sessions() as session:
        row = await session.get(FeedCursor, warden.pipeline.feed_name)
    if row is None or row.checked_at is None:
        return None
    return (datetime.now(UTC) - row.checked_at).total_seconds()

