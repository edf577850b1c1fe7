"""The reports source: Warehouse's malware reports become one incident per project.

Each ``poll()`` reads the ``is_malware`` observations created since the cursor (the
``feed_cursor`` row "reports", the newest ``created`` handled, in microseconds), plus
any report in the ``overlap_seconds`` before it that was not handled yet (a transaction
on the index that committed after a later one was read). For every project they name it
gathers the dossier (every report on the project, the observers' track records, the
project, its releases, files and accounts, the typosquat verdict) and
:func:`detectors.reports.assess.assess` grades it. In ONE transaction of the store: the
incident is opened or updated (one per project: a second report updates its summary,
evidence and, if higher, its severity), each report is recorded in
``malware_reports_seen`` and the cursor moves. A crash before the commit re-reads the
same reports; one after it finds them seen: at least once, never twice. A reported
project joins the feed's tracked set in the same transaction, its releases, files (every
digest) and roles copied into the ledger from the index's database: Remove malware made
in error is then undone with ``warden restore``.

``chase()`` keeps time to verdict short: an incident nobody acknowledged is announced
again after ``remind_after_minutes`` and then every ``remind_every_minutes`` (timeline
"reminded"), and once, after ``escalate_after_minutes``, paged (timeline "paged": the
Slack notifier posts it to ``escalate_channel`` and mentions ``escalate_mention`` in the
thread), nights and weekends included: the clock is the only rule.

``settle()`` closes open report incidents whose reports were all decided meanwhile
(in Warehouse's admin UI, or by a verdict playbook): with the verdict as the note,
a false positive for ``verdict_not_malware``; verdict runs still waiting on the incident
are cancelled, so a decision made in Warehouse is never acted on a second time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.audit import audit
from bot.feed import reports_db as db
from bot.incidents import ACTIVE, Status, record_finding, transition
from bot.ledger import Ledger, TrackedProjects
from bot.notify.outbox import enqueue
from bot.pipeline import read_cursor, write_cursor
from bot.store.models import Incident, TimelineEntry
from bot.store.playbook_models import PlaybookRun, RunStatus
from bot.store.report_models import ReportSeen
from detectors.reports import verdicts
from detectors.reports.assess import DETECTOR, KIND, assess, settled_summary, span
from detectors.reports.dossier import Dossier, TypoVerdict
from detectors.reports.settings import ReportsSection
from detectors.typosquat.detector import TyposquatDetector
from detectors.typosquat.names import InvalidName

__all__ = ["FEED", "PollResult", "ReportsSource", "TypoCheck", "typo_check"]

log = structlog.get_logger(__name__)

FEED = "reports"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
TypoCheck = Callable[[str], TypoVerdict | None]


def typo_check(detector: TyposquatDetector) -> TypoCheck:
    """The typosquat detector's verdict on a reported name (its protected index is built
    on first use, not when the bot starts)."""
    def check(name: str) -> TypoVerdict | None:
        try:
            verdict = detector.analyzer.check(name)
        except InvalidName:
            return None
        if not verdict.flagged or verdict.target is None:
            return None
        return TypoVerdict(verdict.target, verdict.technique or "", verdict.score,
                           verdict.explanation or f"imitates {verdict.target}")
    return check


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _US


def _at(micros: int) -> datetime:
    return _EPOCH + micros * _US


@dataclass(slots=True)
class PollResult:
    reports: int = 0  # reports handled for the first time
    incidents: list[int] = field(default_factory=list)  # opened or updated
    closed: list[int] = field(default_factory=list)  # settled by a verdict
    cursor: datetime | None = None


class ReportsSource:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], warehouse: AsyncEngine,
                 cfg: ReportsSection, notifiers: Sequence[str], *,
                 index_url: str = "https://pypi.org", typo: TypoCheck | None = None,
                 service_account: str = "admin", tracked: TrackedProjects | None = None
                 ) -> None:
        self.sessions = sessions
        self.warehouse = warehouse
        self.cfg = cfg
        self.notifiers = list(notifiers)
        self.index_url = index_url
        self.typo = typo
        self.service_account = service_account
        # The feed's tracked set: a reported project joins it, so the ledger keeps its
        # files and digests and follows its journals (a removal can then be restored).
        self.tracked = tracked if tracked is not None else TrackedProjects()

    async def close(self) -> None:
        await self.warehouse.dispose()

    # -- reading ------------------------------------------------------------------------

    async def cursor(self) -> datetime | None:
        async with self.sessions() as s:
            serial = await read_cursor(s, FEED)
        return None if serial is None else _at(serial)

    async def _seen(self, s: AsyncSession, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            found |= set((await s.execute(sa.select(ReportSeen.observation_id).where(
                ReportSeen.observation_id.in_(ids[start:start + 500])))).scalars())
        return found

    async def _todo(self, c: AsyncConnection, after: datetime | None
                    ) -> tuple[list[db.RawReport], datetime | None]:
        """Reports not handled yet, and the newest ``created`` read past the cursor."""
        fresh = await db.new_reports(c, after, self.cfg.batch_size)
        window: list[str] = []
        if after is not None and self.cfg.overlap_seconds:
            start = after - timedelta(seconds=self.cfg.overlap_seconds)
            window = await db.report_ids_between(c, start, after)
        async with self.sessions() as s:
            seen = await self._seen(s, [*window, *(r.id for r in fresh)])
        late_ids = [i for i in window if i not in seen]
        late = await db.reports_between(
            c, after - timedelta(seconds=self.cfg.overlap_seconds), after, late_ids) \
            if late_ids and after is not None else []
        newest = fresh[-1].created if fresh else None
        return [*late, *(r for r in fresh if r.id not in seen)], newest

    async def _first_cursor(self, start: datetime, now: datetime) -> None:
        """Create the cursor row before the first batch, so that the batch's transaction
        can lock it (a row that does not exist yet cannot be locked: two replicas starting
        together would both store the same reports)."""
        try:
            async with self.sessions.begin() as s:
                if await read_cursor(s, FEED) is None:
                    await write_cursor(s, FEED, _micros(start), now)
        except sa.exc.IntegrityError:
            pass  # another process created it first: that one is as good

    async def dossier(self, c: AsyncConnection, name: str) -> Dossier:
        return (await self.dossiers(c, [name]))[0]

    async def dossiers(self, c: AsyncConnection, names: Sequence[str]) -> list[Dossier]:
        """The dossiers of several projects; the observers' records are read once for all
        (a burst names the same observers again and again)."""
        reports = [await db.project_reports(c, name) for name in names]
        people = await db.observers(c, {r.observer_id for raws in reports for r in raws})
        found = []
        for name, raws in zip(names, reports, strict=True):
            state = await db.project_state(c, raws[-1].project if raws else name)
            typo = None
            if self.typo is not None:
                try:
                    typo = self.typo(state.name)
                except ValueError:  # a name the typosquat rules cannot compare
                    typo = None
            found.append(Dossier(
                project=state, reports=tuple(db.as_report(r, people[r.observer_id])
                                             for r in raws),
                typo=typo, service_account=self.service_account))
        return found

    # -- one poll -----------------------------------------------------------------------

    async def poll(self, now: datetime | None = None) -> PollResult:
        now = now or datetime.now(UTC)
        result = PollResult()
        after = await self.cursor()
        start = after if after is not None else now - timedelta(days=self.cfg.initial_days)
        if after is None:
            await self._first_cursor(start, now)
        async with self.warehouse.connect() as c:
            todo, newest = await self._todo(c, start)
            by_project: dict[str, list[db.RawReport]] = {}
            for report in todo:
                by_project.setdefault(report.key or f"?{report.id}", []).append(report)
            named = [key for key, reports in by_project.items() if reports[-1].project]
            dossiers = dict(zip(named, await self.dossiers(
                c, [by_project[key][-1].project for key in named]), strict=True))
            facts = [f for key in named if key not in self.tracked
                     and (f := await db.project_facts(c, by_project[key][-1].project))]
        async with self.sessions.begin() as s:
            stored = await read_cursor(s, FEED, lock=True)  # one writer at a time
            ledger = Ledger(s, self.tracked)
            for fact in facts:
                await ledger.track(fact.name, now)
                await ledger.apply_facts(fact, now)
                await ledger.apply_roles(fact, now)
            seen = await self._seen(s, [r.id for r in todo])
            for key, reports in by_project.items():
                fresh = [r for r in reports if r.id not in seen]
                if not fresh:
                    continue
                incident_id = None
                d = dossiers.get(key)
                finding = assess(d, self.cfg, self.index_url) if d is not None else None
                if finding is not None:
                    incident = await record_finding(s, finding, now, self.notifiers)
                    # The counts in the summary change with every report, not only when
                    # the severity rises (record_finding keeps the old one otherwise).
                    incident.summary = finding.summary
                    incident_id = incident.id
                    result.incidents.append(incident.id)
                for r in fresh:
                    s.add(ReportSeen(observation_id=r.id, source=r.source, project=key,
                                     version=r.version, created=r.created, seen_at=now,
                                     incident_id=incident_id))
                result.reports += len(fresh)
            if newest is not None and (stored is None or _micros(newest) > stored):
                await write_cursor(s, FEED, _micros(newest), now)
            result.cursor = _at(max(stored or 0, _micros(newest) if newest else 0))
        if result.reports:
            log.info("reports.polled", reports=result.reports,
                     incidents=len(set(result.incidents)))
        return result

    # -- reminders and escalation --------------------------------------------------------

    async def chase(self, now: datetime | None = None) -> tuple[list[int], list[int]]:
        """Remind, then page, the open report incidents nobody acknowledged.
        Returns (reminded, paged) incident ids."""
        now = now or datetime.now(UTC)
        cfg = self.cfg
        reminded: list[int] = []
        paged: list[int] = []
        async with self.sessions.begin() as s:
            waiting = (await s.execute(sa.select(Incident).where(
                Incident.detector == DETECTOR, Incident.kind == KIND,
                Incident.status == Status.OPEN.value).with_for_update())).scalars().all()
            for incident in waiting:
                await s.refresh(incident, ["timeline"])
                waited = (now - incident.created_at).total_seconds()
                told = [t.at for t in incident.timeline if t.action == "reminded"]
                due = (now - max(told)).total_seconds() >= cfg.remind_every_minutes * 60 \
                    if told else waited >= cfg.remind_after_minutes * 60
                if due:
                    incident.timeline.append(TimelineEntry(
                        at=now, actor="warden", action="reminded",
                        detail={"waited": span(waited)}))
                    reminded.append(incident.id)
                page = cfg.escalate_channel or cfg.escalate_mention
                if page and waited >= cfg.escalate_after_minutes * 60 and not any(
                        t.action == "paged" for t in incident.timeline):
                    incident.timeline.append(TimelineEntry(
                        at=now, actor="warden", action="paged",
                        detail={"waited": span(waited), "channel": cfg.escalate_channel,
                                "mention": list(cfg.escalate_mention)}))
                    paged.append(incident.id)
                if incident.id in reminded or incident.id in paged:
                    await s.flush()
                    await enqueue(s, incident, "incident.reminder", now, self.notifiers)
        return reminded, paged

    # -- verdicts made meanwhile --------------------------------------------------------

    async def settle(self, now: datetime | None = None) -> list[int]:
        """Close the open report incidents whose every report has a verdict."""
        now = now or datetime.now(UTC)
        async with self.sessions() as s:
            open_ = (await s.execute(sa.select(Incident.id, Incident.subject).where(
                Incident.detector == DETECTOR, Incident.kind == KIND,
                Incident.status.in_([x.value for x in ACTIVE])))).all()
            seen = (await s.execute(sa.select(ReportSeen.incident_id, ReportSeen.observation_id)
                                    .where(ReportSeen.incident_id.in_([i for i, _ in open_]))
                                    )).all() if open_ else []
        async with self.warehouse.connect() as c:
            undecided = set(await db.open_report_ids(c, [o for _, o in seen]))
        waiting = {i for i, o in seen if o in undecided}
        closed: list[int] = []
        for incident_id, subject in open_:
            if incident_id in waiting:  # a report it was opened for is still open
                continue
            name = subject.partition(":")[2]
            async with self.warehouse.connect() as c:
                raws = await db.project_reports(c, name)
            if not raws or any(not r.actions for r in raws):
                continue
            decided = [e for r in raws if (e := verdicts.decision(r.actions)) is not None]
            entries = [e for r in raws for e in verdicts.entries(r.actions)]
            last = max(decided or entries, key=lambda e: e.at, default=None)
            if last is None:
                continue
            if await self._close(incident_id, last, now):
                closed.append(incident_id)
        return closed

    async def _close(self, incident_id: int, entry: verdicts.Entry, now: datetime) -> bool:
        async with self.sessions.begin() as s:
            incident = await s.get(Incident, incident_id, with_for_update=True)
            if incident is None or Status(incident.status) not in ACTIVE:
                return False
            waiting = (await s.execute(sa.select(PlaybookRun).where(
                PlaybookRun.incident_id == incident_id,
                PlaybookRun.status.in_([RunStatus.AWAITING_APPROVAL, RunStatus.READY])
            ))).scalars().all()
            note = (f"every report has a verdict: {entry.action} by {entry.actor or '?'}"
                    f" at {entry.created_at or entry.key}")
            for run in waiting:
                run.status, run.updated_at = RunStatus.CANCELLED, now
                audit(s, now, actor="warden", action="playbook.cancel", target=run.subject,
                      outcome="cancelled", reason=run.reason, incident_id=incident_id,
                      run_id=run.id, note="the reports were decided meanwhile: " + note)
            to = Status.FALSE_POSITIVE if entry.action == verdicts.NOT_MALWARE \
                else Status.RESOLVED
            incident.summary = settled_summary(incident.summary, note)
            await transition(s, incident, to, "warden", now, self.notifiers, note=note)
        log.info("reports.settled", incident=incident_id, verdict=entry.action)
        return True
