"""Malware reports: from an observation row to the Slack post, and a burst of 1,000.

A Warehouse database (PostgreSQL, Warehouse's real schema from
tests/fixtures/warehouse-schema.sql), the bot's store, the local Slack Web API server and
the loop `warden run` runs on the leader for reports: every reports.poll_interval_seconds
(default 1 s) a poll, the settle pass and the outbox delivered at once (jobs.reports_pass).

1. Latency: reports are inserted one by one at random moments, each on a project of its
   own; for each, the time from its row's commit to its incident's message at the Slack
   server. The poll interval is part of it (a report waits for the next poll).
   Target: p95 < 2 s with the default interval.
   Baseline (same run): a finding recorded directly and delivered, no poll (the store and
   Slack alone).
2. Burst: 1,000 reports committed at once on 300 projects (one to seven reports each, from
   several observers): every report recorded exactly once, one incident per project, one
   Slack message per incident; and how long draining the burst took.

    python bench/reports.py [--reports 40] [--burst 1000] [--projects 300]
                            [--pg postgresql://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

import asyncpg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.feed.reports import ReportsSource  # noqa: E402
from bot.incidents import record_finding  # noqa: E402
from bot.netdoubles.slack import SlackApiServer  # noqa: E402
from bot.notify.outbox import deliver_pending  # noqa: E402
from bot.slack.client import RetryPolicy  # noqa: E402
from bot.slack.notifier import SlackNotifier  # noqa: E402
from bot.slack.options import SlackOptions  # noqa: E402
from bot.store.db import create_engine, session_factory  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Incident  # noqa: E402
from bot.store.report_models import ReportSeen  # noqa: E402
from bot.types import Finding, Severity  # noqa: E402
from detectors.reports.settings import ReportsSection  # noqa: E402

SCHEMA = REPO / "tests" / "fixtures" / "warehouse-schema.sql"


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * q / 100))]


class Warehouse:
    """Rows as Warehouse writes them (a reporter's observer on first use)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.observers: dict[str, uuid.UUID] = {}

    async def user(self, name: str, trusted: bool = False) -> None:
        await self.conn.execute(
            "INSERT INTO users (username, name, password, is_active, is_observer, date_joined)"
            " VALUES ($1, '', '!', true, $2, now() - interval '300 days')", name, trusted)

    async def observer(self, name: str) -> uuid.UUID:
        if name not in self.observers:
            association = await self.conn.fetchval(
                "INSERT INTO observer_association (discriminator) VALUES ('user') RETURNING id")
            await self.conn.execute("UPDATE users SET observer_association_id = $1 "
                                    "WHERE username = $2", association, name)
            self.observers[name] = await self.conn.fetchval(
                "INSERT INTO observers (_association_id) VALUES ($1) RETURNING id", association)
        return self.observers[name]

    async def project(self, name: str) -> uuid.UUID:
        pid: uuid.UUID = await self.conn.fetchval(
            "INSERT INTO projects (name, created) VALUES ($1, "
            "(now() at time zone 'utc') - interval '3 hours') RETURNING id", name)
        return pid

    def report_row(self, pid: uuid.UUID, name: str, observer: uuid.UUID
                   ) -> tuple[object, ...]:
        return (pid, f"Project(name={name!r})", observer, "is_malware", "steals tokens",
                f'{{"inspector_url": "https://inspector.pypi.io/project/{name}/1.0/"}}')

    async def insert(self, rows: list[tuple[object, ...]]) -> None:
        await self.conn.executemany(
            "INSERT INTO project_observations (related_id, related_name, observer_id, kind, "
            "summary, payload, created) VALUES ($1, $2, $3, $4, $5, $6::jsonb, "
            "clock_timestamp() at time zone 'utc')", rows)


class Loop:
    """jobs.reports_pass on the service's schedule: poll, settle, deliver at once."""

    def __init__(self, source: ReportsSource, notifier: SlackNotifier, interval: float) -> None:
        self.source, self.notifier, self.interval = source, notifier, interval
        self.stop = asyncio.Event()

    async def once(self) -> int:
        t0 = time.perf_counter()
        polled = await self.source.poll()
        t1 = time.perf_counter()
        closed = await self.source.settle()
        t2 = time.perf_counter()
        if polled.incidents or closed:
            while await deliver_pending(self.source.sessions, {"slack": self.notifier},
                                        datetime.now(UTC)):
                pass
        t3 = time.perf_counter()
        if polled.reports > 20:
            print(f"  pass: {polled.reports} reports, poll {t1 - t0:.2f} s, settle "
                  f"{t2 - t1:.2f} s, deliver {t3 - t2:.2f} s")
        return polled.reports

    async def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            await self.once()
            delay = self.interval - (time.perf_counter() - started)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), delay)


def posted_at(api: SlackApiServer, seen: dict[str, float]) -> None:
    """Note when each incident's first message appeared (by the project it names)."""
    now = time.perf_counter()
    for m in api.state.messages:
        if m.thread_ts is None and "Malware report: " in m.text:
            name = m.text.split("Malware report: ", 1)[1].split(" ", 1)[0]
            seen.setdefault(name, now)


async def watch(api: SlackApiServer, seen: dict[str, float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        posted_at(api, seen)
        await asyncio.sleep(0.005)


async def bench(args: argparse.Namespace) -> int:
    name = f"bench_reports_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{args.pg}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    api = SlackApiServer()
    await api.start()
    tmp = Path(tempfile.mkdtemp())
    store_url = f"sqlite+aiosqlite:///{tmp / 'warden.db'}"
    failures = 0
    try:
        loader = await asyncpg.connect(f"{args.pg}/{name}")
        await loader.execute(SCHEMA.read_text())  # (it empties its session's search_path)
        await loader.close()
        conn = await asyncpg.connect(f"{args.pg}/{name}")
        wh = Warehouse(conn)
        for user, trusted in (("hunter", True), ("scan-a", False), ("scan-b", False),
                              ("scan-c", True)):
            await wh.user(user, trusted)
        await asyncio.to_thread(upgrade, store_url)
        engine = create_engine(store_url)
        sessions = session_factory(engine)
        os.environ["SLACK_BOT_TOKEN"] = "xoxb-bench"
        settings = load_settings(None, store={"url": store_url}, notify={"console": False},
                                 slack={"api_url": api.api_url, "channel": "#reports"})
        notifier = SlackNotifier(sessions, SlackOptions.from_settings(settings),
                                 retry=RetryPolicy(rate_limited=5, server_errors=2,
                                                   backoff_seconds=0.05))
        cfg = ReportsSection()  # the defaults: a poll every second
        pg_url = f"{args.pg}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
        source = ReportsSource(sessions, create_engine(pg_url), cfg, ["slack"])
        loop = Loop(source, notifier, cfg.poll_interval_seconds)
        await loop.once()  # the first poll creates the cursor

        # -- baseline: a finding straight into the store, then delivered -------------------
        base: list[float] = []
        for i in range(args.reports):
            started = time.perf_counter()
            async with sessions.begin() as s:
                await record_finding(s, Finding("bench", "baseline", f"project:base-{i}",
                                                Severity.HIGH, "baseline"), datetime.now(UTC),
                                     ["slack"])
            await deliver_pending(sessions, {"slack": notifier}, datetime.now(UTC))
            base.append(time.perf_counter() - started)

        # -- 1. latency ---------------------------------------------------------------------
        seen: dict[str, float] = {}
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(api, seen, stop))
        runner = asyncio.create_task(loop.run())
        committed: dict[str, float] = {}
        rng = random.Random(20)
        for i in range(args.reports):
            project = f"lat-{i}"
            pid = await wh.project(project)
            await asyncio.sleep(rng.uniform(0.05, 0.6))
            await wh.insert([wh.report_row(pid, project, await wh.observer("hunter"))])
            committed[project] = time.perf_counter()
        deadline = time.perf_counter() + 30
        while len([k for k in committed if k in seen]) < len(committed) \
                and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)
        lat = [seen[k] - committed[k] for k in committed if k in seen]
        lost = len(committed) - len(lat)

        # -- 2. burst -----------------------------------------------------------------------
        names = [f"burst-{i}" for i in range(args.projects)]
        pids = {n: await wh.project(n) for n in names}
        observers = [await wh.observer(u) for u in ("hunter", "scan-a", "scan-b", "scan-c")]
        rows = [wh.report_row(pids[names[i % len(names)]], names[i % len(names)],
                              observers[rng.randrange(len(observers))])
                for i in range(args.burst)]
        rng.shuffle(rows)
        started = time.perf_counter()
        await wh.insert(rows)  # one transaction: all at once
        deadline = started + 300
        while time.perf_counter() < deadline:
            async with sessions() as s:
                done = (await s.execute(sa.select(sa.func.count()).select_from(ReportSeen)
                                        .where(ReportSeen.project.like("burst-%")))).scalar_one()
            if done >= args.burst and all(n in seen for n in names):
                break
            await asyncio.sleep(0.05)
        drained = time.perf_counter() - started
        loop.stop.set()
        await runner
        stop.set()
        await watcher
        posted_at(api, seen)
        async with sessions() as s:
            recorded = (await s.execute(sa.select(ReportSeen.observation_id)
                                        .where(ReportSeen.project.like("burst-%")))).scalars().all()
            incidents = (await s.execute(sa.select(Incident.subject, sa.func.count())
                                         .where(Incident.subject.like("project:burst-%"))
                                         .group_by(Incident.subject))).all()
        posts = [m for m in api.state.messages
                 if m.thread_ts is None and "Malware report: burst-" in m.text]
        per_project = {}
        for m in posts:
            project = m.text.split("Malware report: ", 1)[1].split(" ", 1)[0]
            per_project[project] = per_project.get(project, 0) + 1

        print(f"latency, observation row -> Slack post ({len(lat)} reports, poll every "
              f"{cfg.poll_interval_seconds:g} s): p50 {p(lat, 50):.3f} s, p95 {p(lat, 95):.3f} s, "
              f"max {max(lat):.3f} s; lost {lost}   [target p95 < 2 s]")
        print(f"baseline, finding -> Slack post without a poll: p50 {statistics.median(base):.3f} s,"
              f" p95 {p(base, 95):.3f} s")
        print(f"burst: {args.burst} reports on {args.projects} projects drained in {drained:.2f} s;"
              f" recorded {len(recorded)} ({len(set(recorded))} distinct), incidents "
              f"{len(incidents)} (max per project {max((c for _, c in incidents), default=0)}),"
              f" Slack messages {len(posts)} (max per project "
              f"{max(per_project.values(), default=0)})")
        if lost or p(lat, 95) >= 2.0:
            failures += 1
        if (len(recorded) != args.burst or len(set(recorded)) != args.burst
                or len(incidents) != args.projects
                or any(c != 1 for _, c in incidents) or len(posts) != args.projects
                or any(c != 1 for c in per_project.values())):
            failures += 1
        await source.close()
        await engine.dispose()
        await conn.close()
    finally:
        await api.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print("OK" if not failures else "FAILED")
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=40)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=300)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    sys.exit(asyncio.run(bench(parser.parse_args())))


if __name__ == "__main__":
    main()
