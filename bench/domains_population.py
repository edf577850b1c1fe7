"""The sweep of a realistic population, day after day: a scheduling simulation (issue 18).

300,000 accounts sharing 120,000 distinct email domains (10 % of the domains belong to
maintainers of critical projects). The real planner, sweeper, rules, history writes and
coverage run on a store seeded with that population; the clock is simulated (one sweep
a day at 03:00) and the resolver and registry are in-process stand-ins that answer at
once ("all is well") and count the questions. What is measured is the schedule: how many
domains each day's sweep checks and how many DNS questions it asks, hence how long those
take at the polite rate and the day's average rate to the one resolver; and whether
every domain is checked within the period and every critical one daily. The limiter
itself (`Polite`, the token bucket every real sweep asks through) is timed on a short
real run at the configured rate.

    python bench/domains.py --population [--accounts 300000 --population-domains 120000
                                          --days 35]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import dns.rdatatype
import sqlalchemy as sa

from bot.netdoubles.synthetic import names
from bot.store.db import create_engine, session_factory
from bot.store.domain_models import AccountProject
from bot.store.migrate import upgrade
from bot.store.models import Account, Email, Project
from detectors.domains.coverage import Coverage, coverage
from detectors.domains.dns import DnsProbe
from detectors.domains.dnsclient import Polite, Reply
from detectors.domains.registry import RegistryObservation, RegistryRecord
from detectors.domains.settings import DomainsSection
from detectors.domains.sweep import DomainSweeper

POLITE_QPS = 50.0
DAY = 86_400.0
START = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


class SimResolver:
    """Answers every NS and MX question at once, and counts them."""

    server = "sim-resolver"

    def __init__(self) -> None:
        self.asked = 0

    async def query(self, name: str, rdtype: dns.rdatatype.RdataType) -> Reply:
        self.asked += 1
        if rdtype == dns.rdatatype.MX:
            return Reply(rcode=0, mx=((10, f"mx.{name}"),))
        return Reply(rcode=0, ns=(f"ns1.{name}", f"ns2.{name}"))

    async def close(self) -> None:
        return None


@dataclass
class SimRegistries:
    """One RDAP route; every domain registered in 2015, expiring next year."""

    asked: int = 0
    now: datetime = START

    def route(self, domain: str) -> str | None:
        return "rdap https://rdap.sim/"

    async def lookup(self, domain: str, route: str | None = None) -> RegistryObservation:
        self.asked += 1
        record = RegistryRecord(
            statuses=("client transfer prohibited",), registered=datetime(2015, 3, 1, tzinfo=UTC),
            expires=self.now + timedelta(days=300), registrar="Sim Registrar", registrar_id="1",
            nameservers=(f"ns1.{domain}", f"ns2.{domain}"))
        return RegistryObservation("rdap", "found", "https://rdap.sim/", record)

    async def close(self) -> None:
        return None


@dataclass
class Day:
    day: int
    checked: int
    questions: int
    registry: int
    seconds: float  # wall time of the simulated sweep on this machine
    cover: Coverage
    critical_late: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def seed(url: str, accounts: int, domains: int, critical_share: float) -> None:
    """Accounts in round robin over the domains (2.5 accounts a domain on average); the
    accounts of every 1/critical_share-th domain hold a role on a critical project, the
    others on an ordinary one (roles as the index's database gives them)."""
    engine = sa.create_engine(url.replace("+aiosqlite", ""))
    every = max(1, round(1 / critical_share))
    domain = names(domains)
    verified = datetime(2024, 6, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(Project), [
            {"id": i + 1, "name": f"crit{i}", "normalized_name": f"crit{i}", "critical": True,
             "quarantined": False} for i in range(400)])
        for start in range(0, accounts, 50_000):
            part = range(start, min(accounts, start + 50_000))
            conn.execute(sa.insert(Account), [
                {"id": i + 1, "username": f"user{i}", "frozen": False} for i in part])
            conn.execute(sa.insert(Email), [
                {"account_id": i + 1, "email": f"user{i}@{domain[i % domains]}",
                 "primary": True, "verified": True, "verified_at": verified,
                 "source": "index-db"} for i in part])
            conn.execute(sa.insert(AccountProject), [
                {"account_id": i + 1,
                 "project": f"crit{i % 400}" if (i % domains) % every == 0 else f"lib{i}",
                 "role": "Owner"} for i in part])
    engine.dispose()


async def polite_rate(rate: float, questions: int) -> float:
    """Questions/s through the sweep's limiter over a short real run, once its burst
    (one second's worth) is spent."""
    polite = Polite(SimResolver(), rate)
    await asyncio.gather(*(polite.query(f"b{n}.example", dns.rdatatype.NS)
                           for n in range(polite.bucket.burst)))
    started = time.perf_counter()
    await asyncio.gather(*(polite.query(f"q{n}.example", dns.rdatatype.NS)
                           for n in range(questions)))
    return questions / (time.perf_counter() - started)


async def simulate(url: str, days: int, cfg: DomainsSection) -> list[Day]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    resolver, registries = SimResolver(), SimRegistries()
    probe = DnsProbe(resolver)
    out: list[Day] = []
    try:
        for day in range(days):
            now = START + timedelta(days=day)
            registries.now = now
            before_q, before_r = resolver.asked, registries.asked
            started = time.perf_counter()
            report = await DomainSweeper(sessions, cfg, probe, registries).run(now)  # type: ignore[arg-type]
            seconds = time.perf_counter() - started
            async with sessions() as session:
                # as an admin would see it the next morning, just before the next sweep
                cover = await coverage(session, cfg, now + timedelta(hours=23, minutes=59))
            out.append(Day(day, report.dns_checked + report.dns_failed,
                           resolver.asked - before_q, registries.asked - before_r, seconds,
                           cover, cover.critical_domains - cover.critical_checked_within_period,
                           dict(report.reasons)))
            print(f"day {day:>2}: checked {out[-1].checked:>7,} domains, "
                  f"{out[-1].questions:>7,} DNS questions "
                  f"({out[-1].questions / POLITE_QPS / 60:5.1f} min at {POLITE_QPS:g}/s), "
                  f"registry {out[-1].registry:>6,}; within the period "
                  f"{cover.checked_within_period:>7,}/{cover.domains:,}, critical within a day "
                  f"{cover.critical_checked_within_period:,}/{cover.critical_domains:,}, "
                  f"never {cover.never_checked:,} [{seconds:.0f} s]", flush=True)
    finally:
        await engine.dispose()
    return out


def population(args: argparse.Namespace, url: str) -> None:
    upgrade(url)
    started = time.perf_counter()
    seed(url, args.accounts, args.population_domains, args.population_critical)
    print(f"seeded {args.accounts:,} accounts over {args.population_domains:,} domains "
          f"({args.population_critical:.0%} critical) in {time.perf_counter() - started:.0f} s")
    cfg = DomainsSection(dns_rate_per_second=0, rdap_rate_per_second=10_000,
                         chunk_size=5_000)  # default periods: 30 days, critical daily
    print("scheduling simulation: real planner, sweeper and coverage; simulated clock, "
          "in-process resolver and registry")
    days = asyncio.run(simulate(url, args.days, cfg))
    measured = asyncio.run(polite_rate(POLITE_QPS, 250))

    last = days[-1].cover
    if not last.domains:
        raise SystemExit("no domain in scope: the population was not linked")
    steady = days[1:] or days
    busiest = max(days, key=lambda d: d.questions)
    busiest_steady = max(steady, key=lambda d: d.questions)
    total_q = sum(d.questions for d in days)
    print()
    end = START + timedelta(days=len(days) - 1, hours=23, minutes=59)
    age = f"{(end - last.oldest_check).days} days" if last.oldest_check else "-"
    print(f"coverage after {len(days)} days: accounts {last.accounts:,}, domains "
          f"{last.domains:,} (critical {last.critical_domains:,}); checked within "
          f"{last.period_days} days {last.checked_within_period:,} ({last.share:.1%}); oldest "
          f"check {last.oldest_check:%Y-%m-%d %H:%M} ({age} old at the end)")
    late = max(d.critical_late for d in days)
    print(f"critical domains not checked within a day, worst day: {late:,}")
    print(f"DNS questions: {total_q:,} over {len(days)} days; busiest day {busiest.day} "
          f"(the first, nothing checked before): {busiest.questions:,}, "
          f"{busiest.questions / POLITE_QPS / 3600:.2f} h at {POLITE_QPS:g}/s; after it, "
          f"busiest {busiest_steady.questions:,} ({busiest_steady.questions / POLITE_QPS / 60:.0f} "
          f"min at {POLITE_QPS:g}/s)")
    print(f"average rate to the resolver: {total_q / (len(days) * DAY):.2f} questions/s over "
          f"the {len(days)} days; the busiest day {busiest.questions / DAY:.2f}/s; while a sweep "
          f"runs, the limiter's {POLITE_QPS:g}/s (measured: {measured:.1f}/s over 250 questions "
          "after its burst)")
    ok = (last.checked_within_period == last.domains and late == 0
          and busiest.questions / POLITE_QPS < DAY and measured <= POLITE_QPS * 1.05
          and len(days) > last.period_days)
    print("targets met" if ok else "targets NOT met")
    if not ok:
        raise SystemExit(1)
