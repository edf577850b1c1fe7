"""The sweep: plan once, then the DNS tier and the registry tier in short transactions.

The DNS tier claims chunks of `chunk_size` domains, asks the resolver about all of
them concurrently, then writes the observations, the hits and the queue moves of the
chunk in one transaction. Domains that need a registry look move to the registry
stage, keyed by route (RDAP base URL or WHOIS server); one worker per route claims a
few at a time and goes at that server's rate, so a slow registry holds up only its
own domains. Both tiers run at once. Findings are written as pending findings in the
same transactions; the detector hands them to the pipeline.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store.domain_models import DomainPendingFinding, DomainSweep
from detectors.domains import queue
from detectors.domains.dns import DnsObservation, DnsProbe
from detectors.domains.findings import affected, build_findings, finding_to_json, unseen
from detectors.domains.history import (
    DomainRow,
    HistoryWriter,
    last_found,
    load_rows,
    references,
)
from detectors.domains.plan import enqueue, sync_domains
from detectors.domains.registry import RegistryObservation, derive_state
from detectors.domains.rules import Facts, Hit, RuleConfig, evaluate, registration_note
from detectors.domains.settings import DomainsSection
from detectors.domains.sources import Registries
from detectors.domains.tiers import registry_reason, want_mx

Progress = Callable[[str, int, int], None]
FLAG_STATES = frozenset(
    {"grace", "redemption", "pending-delete", "expired-unknown", "unregistered", "hold"})
DNS_WORKERS = 2  # one chunk writes while the next one is being resolved
ROUTE_CLAIM_SECONDS = 10.0  # a registry worker claims about this much work at a time
RETRY_WAIT_LIMIT = 60.0  # wait for retries due this soon; leave later ones to the next run
DAILY = timedelta(hours=20)  # scheduled sweeps plan at most once in this time
STOP_GRACE = 30.0  # after a failure, how long the other workers get to finish their chunk


@dataclass(slots=True)
class SweepReport:
    sweep_id: int = 0
    resumed: bool = False
    skipped: bool = False  # a sweep ran less than a day ago: nothing planned
    finished: bool = False
    planned: int = 0
    bad_addresses: int = 0
    dns_checked: int = 0
    dns_failed: int = 0
    registry_checked: int = 0
    registry_failed: int = 0
    findings: int = 0
    left: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    routes: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds, summed over chunks
    plan_seconds: float = 0.0
    dns_seconds: float = 0.0
    seconds: float = 0.0


class DomainSweeper:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], cfg: DomainsSection,
        probe: DnsProbe, registries: Registries, *, progress: Progress | None = None,
    ) -> None:
        self.sessions, self.cfg, self.probe, self.registries = sessions, cfg, probe, registries
        self.progress = progress or (lambda stage, done, total: None)
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.rules = RuleConfig(cfg.expiring_days, tuple(cfg.parking_nameservers))
        self.report = SweepReport()
        self._dns_gate = asyncio.Semaphore(cfg.dns_concurrency)
        self._stop = asyncio.Event()
        self._base, self._start = datetime.min, 0.0

    async def together(self, *work: Coroutine[Any, Any, None]) -> None:
        """Run all. After a failure the others stop at their next chunk (cancelling a
        transaction half-way can leave a SQLite write lock behind), then it is raised."""
        tasks = [asyncio.create_task(w) for w in work]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            self._stop.set()
            _, late = await asyncio.wait(tasks, timeout=STOP_GRACE)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def now(self) -> datetime:
        """The sweep's clock: the given start time plus the time spent since."""
        return self._base + timedelta(seconds=time.monotonic() - self._start)

    async def run(
        self, now: datetime, *, only: list[str] | None = None, critical_only: bool = False,
        force: bool = False,
    ) -> SweepReport:
        """Resume the unfinished sweep, or plan a new one; then work it through.

        Without `force` (or `only`), a new sweep is planned at most once a day however
        often this is called: the plan adds a daily share of everyone's domains.
        """
        self._base, self._start = now, time.monotonic()
        report = self.report
        sweep = await self._sweep_to_work(now, only, critical_only, force)
        if sweep is None:
            report.skipped = True
            return report
        report.sweep_id, report.planned = sweep.id, sweep.planned
        report.plan_seconds = time.monotonic() - self._start
        dns_done = asyncio.Event()
        await self.together(self._dns_stage(sweep, dns_done),
                            self._registry_stage(sweep, dns_done))
        async with self.sessions.begin() as session:
            report.finished = await queue.finish(session, sweep, self.now())
            report.left = await queue.remaining(session, sweep.id)
        report.seconds = time.monotonic() - self._start
        return report

    async def _sweep_to_work(
        self, now: datetime, only: list[str] | None, critical_only: bool, force: bool,
    ) -> DomainSweep | None:
        try:
            async with self.sessions.begin() as session:
                sweep = await queue.running_sweep(session)
                if sweep is not None:
                    self.report.resumed = True
                    return sweep
                last = await queue.last_start(session)
                if not (force or only) and last is not None and now - last < DAILY:
                    return None
                stats = await sync_domains(session, self.cfg, now)
                self.report.bad_addresses = len(stats.bad)
                return await enqueue(session, self.cfg, now, only=only,
                                     critical_only=critical_only)
        except IntegrityError:  # another replica planned one at the same moment: join it
            async with self.sessions() as session:
                sweep = await queue.running_sweep(session)
            self.report.resumed = sweep is not None
            return sweep

    # -- DNS tier ---------------------------------------------------------------------

    async def _dns_stage(self, sweep: DomainSweep, done: asyncio.Event) -> None:
        started = time.monotonic()  # planning excluded: this is the DNS tier's own time
        try:
            await self.together(*(self._dns_worker(sweep) for _ in range(DNS_WORKERS)))
        finally:
            self.report.dns_seconds = time.monotonic() - started
            done.set()

    async def _dns_worker(self, sweep: DomainSweep) -> None:
        while not self._stop.is_set():
            async with self.sessions.begin() as session:
                claimed = await queue.claim(session, sweep.id, "dns", self.worker, self.now(),
                                            self.cfg.lease_seconds, self.cfg.chunk_size)
            if claimed:
                await self._dns_chunk(sweep, claimed)
            elif not await self._wait_for_retries(sweep):
                return

    async def _wait_for_retries(self, sweep: DomainSweep) -> bool:
        """Sleep until DNS retries due soon are claimable; False when none are."""
        async with self.sessions() as session:
            soonest = await queue.next_lease_end(session, sweep.id, "dns")
        if soonest is None:
            return False
        wait = (soonest - self.now()).total_seconds()
        if wait > RETRY_WAIT_LIMIT:
            return False
        await asyncio.sleep(max(wait, 0.0) + 0.01)
        return True

    async def _observe(self, row: DomainRow) -> DnsObservation:
        async with self._dns_gate:
            return await self.probe.observe(row.name, mx=want_mx(row, self.cfg))

    def _time(self, what: str, since: float) -> float:
        now = time.monotonic()
        self.report.timings[what] = self.report.timings.get(what, 0.0) + now - since
        return now

    async def _dns_chunk(
        self, sweep: DomainSweep, claimed: dict[int, tuple[str | None, int]]
    ) -> None:
        mark = time.monotonic()
        ids = sorted(claimed)
        async with self.sessions() as session:
            rows = await load_rows(session, ids)
        mark = self._time("dns.load", mark)
        results = await asyncio.gather(*(self._observe(rows[i]) for i in ids))
        mark = self._time("dns.resolve", mark)
        at = self.now()
        writer = HistoryWriter(at)
        done: list[int] = []
        retry: list[int] = []
        onward: dict[int, tuple[str | None, str]] = {}
        candidates: dict[int, DnsObservation] = {}
        failed = 0
        for domain_id, obs in zip(ids, results, strict=True):
            row = rows[domain_id]
            planned, attempts = claimed[domain_id]
            if not obs.evidence and attempts < 2:
                retry.append(domain_id)  # a failure is retried once, later in the sweep
                continue
            writer.dns(row, obs)
            if not obs.evidence:
                failed += 1
            elif not row.mailbox_provider:
                candidates[domain_id] = obs
            reason = registry_reason(row, obs, planned, at, self.cfg)
            if reason is None:
                done.append(domain_id)
            else:
                onward[domain_id] = (self.registries.route(row.name), reason)
        async with self.sessions.begin() as session:
            hits = await self._dns_hits(session, rows, candidates, at)
            for domain_id in hits:
                writer.update(rows[domain_id], flagged_at=at)
            await self._raise(session, rows, hits, at)
            await writer.flush(session)
            await queue.advance(session, sweep.id, done, onward, retry,
                                retry_at=at + timedelta(seconds=self.cfg.dns_retry_seconds))
        self._time("dns.write", mark)
        # counted once committed, so progress never shows work a crash would undo
        report = self.report
        report.dns_failed += failed
        report.dns_checked += len(done) + len(onward) - failed
        for _, reason in onward.values():
            report.reasons[reason] = report.reasons.get(reason, 0) + 1
        self.progress("dns", report.dns_checked + report.dns_failed, sweep.planned)

    async def _dns_hits(
        self, session: AsyncSession, rows: dict[int, DomainRow],
        fresh: dict[int, DnsObservation], at: datetime,
    ) -> dict[int, list[Hit]]:
        # The reference date matters only for "back after NXDOMAIN": load it for those.
        back = [i for i, obs in fresh.items()
                if (p := rows[i].past_dns()) is not None and p.outcome == "nxdomain"
                and obs.outcome != "nxdomain"]
        refs = await references(session, back)
        hits: dict[int, list[Hit]] = {}
        for domain_id, obs in fresh.items():
            row = rows[domain_id]
            reference, label = self._reference(row, refs)
            found = evaluate(Facts(
                domain=row.name, as_of=at, dns=obs, previous_dns=row.past_dns(),
                nxdomain_since=row.nxdomain_since, reference=reference, reference_label=label,
                critical=row.critical), self.rules)
            if found:
                hits[domain_id] = found
        return hits

    @staticmethod
    def _reference(row: DomainRow, refs: dict[int, datetime]) -> tuple[datetime, str]:
        if row.id in refs:
            return refs[row.id], "the maintainer's email was verified"
        return row.first_seen_at, "the domain was first seen"

    async def _raise(
        self, session: AsyncSession, rows: dict[int, DomainRow], hits: dict[int, list[Hit]],
        at: datetime,
    ) -> None:
        """New hits become pending findings, in the transaction of their observations."""
        fresh = await unseen(session, hits, at)
        if not fresh:
            return
        accounts = await affected(session, list(fresh))
        for domain_id, domain_hits in fresh.items():
            for finding in build_findings(rows[domain_id].name, domain_hits,
                                          accounts.get(domain_id, []), at):
                session.add(DomainPendingFinding(
                    domain_id=domain_id, finding=finding_to_json(finding), created_at=at))
                self.report.findings += 1

    # -- registry tier ----------------------------------------------------------------

    async def _registry_stage(self, sweep: DomainSweep, dns_done: asyncio.Event) -> None:
        workers: dict[str, asyncio.Task[None]] = {}
        try:
            while not self._stop.is_set():
                finished_dns = dns_done.is_set()
                async with self.sessions() as session:
                    routes = await queue.registry_routes(session, sweep.id, self.now())
                for route in routes:
                    if route not in workers or workers[route].done():
                        if route in workers:
                            await workers[route]  # re-raise what a finished worker raised
                        workers[route] = asyncio.create_task(self._route_worker(sweep, route))
                if finished_dns and not routes and all(w.done() for w in workers.values()):
                    break
                await asyncio.sleep(0.2)
            await asyncio.gather(*workers.values())
        finally:
            for task in workers.values():
                task.cancel()
            await asyncio.gather(*workers.values(), return_exceptions=True)

    async def _route_worker(self, sweep: DomainSweep, route: str) -> None:
        rate = self._route_rate(route)
        limit = max(1, int(rate * ROUTE_CLAIM_SECONDS))
        while not self._stop.is_set():
            async with self.sessions.begin() as session:
                claimed = await queue.claim(session, sweep.id, "registry", self.worker,
                                            self.now(), self.cfg.lease_seconds, limit, server=route)
            if not claimed:
                return
            ids = sorted(claimed)
            reasons = {d: reason for d, (reason, _) in claimed.items()}
            async with self.sessions() as session:
                rows = await load_rows(session, ids)
            lookup_route = None if route == "none" else route
            results = [await self.registries.lookup(rows[i].name, lookup_route) for i in ids]
            await self._registry_write(sweep, rows, reasons, list(zip(ids, results, strict=True)))
            self.report.routes[route] = self.report.routes.get(route, 0) + len(ids)

    def _route_rate(self, route: str) -> float:
        if route.startswith("rdap "):
            return self.cfg.rdap_rate_per_second
        return self.cfg.whois_rate_per_second

    async def _registry_write(
        self, sweep: DomainSweep, rows: dict[int, DomainRow], reasons: dict[int, str | None],
        results: list[tuple[int, RegistryObservation]],
    ) -> None:
        at = self.now()
        writer = HistoryWriter(at)
        hits: dict[int, list[Hit]] = {}
        async with self.sessions.begin() as session:
            ids = [domain_id for domain_id, _ in results]
            before = await last_found(session, ids)
            refs = await references(session, ids)
            for domain_id, obs in results:
                row = rows[domain_id]
                if not obs.evidence:
                    self.report.registry_failed += 1
                    writer.registry(row, obs, row.state or "unknown")
                    if (reasons.get(domain_id) or "").startswith("dns:"):
                        writer.update(row, flagged_at=at)  # DNS saw trouble: look again tomorrow
                    if row.dns_outcome == "nxdomain" and not row.mailbox_provider:
                        hits[domain_id] = evaluate(Facts(  # NXDOMAIN alone is evidence
                            domain=row.name, as_of=at, nxdomain_now=True,
                            nxdomain_since=row.nxdomain_since, registry_unavailable=True),
                            self.rules)
                    continue
                self.report.registry_checked += 1
                state, _ = derive_state(obs, at, self.cfg.expiring_days)
                previous = before.get(domain_id)
                note = registration_note(previous[0] if previous else None, obs.record)
                if note:  # hours apart between servers: kept in the history, no incident
                    obs = replace(obs, detail=note)
                writer.registry(row, obs, state)
                reference, label = self._reference(row, refs)
                found = evaluate(Facts(
                    domain=row.name, as_of=at, registry=obs,
                    previous_registry=previous[0] if previous else None,
                    previous_registry_at=previous[1] if previous else None,
                    nxdomain_now=row.dns_outcome == "nxdomain", nxdomain_since=row.nxdomain_since,
                    reference=reference, reference_label=label, critical=row.critical,
                    mailbox_provider=row.mailbox_provider), self.rules)
                serious = [h for h in found if h.kind != "expiring"]
                writer.update(row, flagged_at=at if serious or state in FLAG_STATES else None)
                if found:
                    hits[domain_id] = found
            await self._raise(session, rows, hits, at)
            await writer.flush(session)
            await queue.advance(session, sweep.id, ids, {})
        self.progress("registry", self.report.registry_checked + self.report.registry_failed,
                      sum(self.report.reasons.values()))
