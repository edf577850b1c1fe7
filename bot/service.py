"""`warden run`: the web app on every replica, the feed and the schedule on the leader.

Every replica serves HTTP. The one holding the leader lock also runs the scheduled
jobs (feed poll, outbox, daily recompute, reminders); the others retry the lock every
few seconds, so when the leader dies another takes over from the stored cursor. On
SIGTERM/SIGINT the batch in flight finishes and commits before the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import jobs
from bot.feed.devpi_open import devpi_pass
from bot.leader import LeaderLock, leader_lock
from bot.metrics import JOB_RUNS, LEADER
from bot.web import build_app
from bot.wiring import Warden

log = structlog.get_logger(__name__)

Job = Callable[[], Awaitable[object]]


class Service:
    def __init__(self, warden: Warden, host: str, port: int) -> None:
        self.warden = warden
        self.settings = warden.settings
        self.host, self.port = host, port
        self.stop = asyncio.Event()
        self.lock: LeaderLock = leader_lock(warden.engine, warden.settings.store.url)
        self.app = build_app(warden)
        self.scheduler: AsyncIOScheduler | None = None  # the leader's
        self.helpers: AsyncIOScheduler | None = None  # every replica's
        self._running: set[asyncio.Task[object]] = set()
        self.bound_port: int | None = None

    def _job(self, name: str, work: Job) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await work()
                JOB_RUNS.labels(name, "ok").inc()
            except Exception:
                JOB_RUNS.labels(name, "error").inc()
                log.exception("job.failed", job=name)
            finally:
                self._running.discard(task)
        return run

    def _start_schedule(self) -> None:
        cfg, w = self.settings.service, self.warden
        scheduler = AsyncIOScheduler(timezone="UTC")
        every = {"max_instances": 1, "coalesce": True}
        scheduler.add_job(self._job("feed", lambda: jobs.feed_pass(w, self.stop)),
                          IntervalTrigger(seconds=self.settings.feed.poll_interval_seconds),
                          next_run_time=datetime.now(UTC), **every)
        if w.reports is not None:
            scheduler.add_job(self._job("reports", lambda: jobs.reports_pass(w)),
                              IntervalTrigger(seconds=self.settings.reports.poll_interval_seconds),
                              next_run_time=datetime.now(UTC), **every)
            scheduler.add_job(self._job("reports-chase", lambda: jobs.reports_chase(w)),
                              IntervalTrigger(minutes=1), **every)
        if self.settings.devpi.url:
            scheduler.add_job(self._job("devpi", lambda: devpi_pass(
                w.settings, w.sessions, w.pipeline.notifiers, w.feed.deliver, self.stop)),
                IntervalTrigger(seconds=self.settings.devpi.poll_interval_seconds),
                next_run_time=datetime.now(UTC), **every)
        scheduler.add_job(self._job("ledger-backfill", lambda: jobs.backfill_critical_ledger(w)),
                          "date", run_date=datetime.now(UTC))
        scheduler.add_job(self._job("outbox", lambda: jobs.deliver_outbox(w)),
                          IntervalTrigger(seconds=cfg.outbox_interval_seconds), **every)
        scheduler.add_job(self._job("reminders", lambda: jobs.remind(w)),
                          IntervalTrigger(minutes=5), **every)
        hour, minute = cfg.recompute_at.split(":")
        scheduler.add_job(self._job("critical-recompute", lambda: jobs.recompute_critical(w)),
                          CronTrigger(hour=int(hour), minute=int(minute)), **every)
        hour, minute = self.settings.domains.sweep_time.split(":")
        scheduler.add_job(self._job("domain-sweep", lambda: jobs.domain_sweep(w)),
                          CronTrigger(hour=int(hour), minute=int(minute)), **every)
        scheduler.add_job(self._job("pending-findings", lambda: jobs.collect_pending(w)),
                          IntervalTrigger(minutes=1), **every)
        scheduler.start()
        self.scheduler = scheduler

    def _start_helpers(self) -> None:
        """Work every replica shares, leader or not: the domain sweep's queue."""
        helpers = AsyncIOScheduler(timezone="UTC")
        helpers.add_job(self._job("share-work", lambda: jobs.share_work(self.warden)),
                        IntervalTrigger(seconds=self.settings.service.leader_retry_seconds * 6),
                        max_instances=1, coalesce=True)
        helpers.start()
        self.helpers = helpers

    async def _stop_schedule(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self._running:  # the batch in flight sees `stop` and commits, then returns
            await asyncio.wait(set(self._running), timeout=self.settings.service.shutdown_seconds)

    async def run(self) -> None:
        runner = web.AppRunner(self.app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.bound_port = runner.addresses[0][1] if runner.addresses else self.port
        log.info("service.listening", host=self.host, port=self.bound_port)
        leader = False
        try:
            await self.warden.ensure_critical_set()
            self._start_helpers()
            while not self.stop.is_set():
                if not leader and await self.lock.try_acquire():
                    leader = True
                    LEADER.set(1)
                    log.info("service.leader", acquired=True)
                    self._start_schedule()
                elif leader and not await self.lock.still_held():
                    leader = False
                    LEADER.set(0)
                    log.warning("service.leader", lost=True)
                    await self._stop_schedule()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(),
                                           self.settings.service.leader_retry_seconds)
        finally:
            self.stop.set()
            if self.helpers is not None:
                self.helpers.shutdown(wait=False)
            await self._stop_schedule()
            if leader:
                await self.lock.release()
                LEADER.set(0)
            await runner.cleanup()
            log.info("service.stopped")

