"""Domain sweep: 100,000 synthetic maintainer domains against the local DNS server.

The DNS and RDAP doubles run in their own process (`python -m bot.netdoubles serve
--synthetic-epoch N`); the sweep runs here on a SQLite store seeded with one verified
maintainer email per domain (8 % of them critical maintainers). Two sweeps: a cold
one (nothing known yet), then, after a simulated day with some churn, a steady-state
one, which is the one measured. Printed:

- DNS tier: questions/s and domains/s of the steady-state sweep, unthrottled
  (observations, rules and queue writes included). The sweep's target is a polite rate,
  at most 50 questions/s on average to one resolver (issue #18), so the target here is
  capacity to spare: >= 250 questions/s, five times that rate. Same-run baseline: bare
  NS questions about a sample of those domains through the same dnspython client, and
  the ratio of the two;
- RDAP share: domains sent on to the registry tier / domains checked (target <= 5 %);
- estimated wall time of the sweep at 1 RDAP request/s per server (WHOIS at its own
  configured rate), servers in parallel, against checking every domain by RDAP, and
  the ratio. Routes are those of the bundled IANA bootstrap (the run itself sends
  every RDAP query to the local double, unthrottled, so that it ends).

Then the population (issue #18), `--population`: 300,000 accounts with 120,000
distinct domains (10 % critical), swept day after day for `--days` simulated days. This
part is a scheduling simulation: the real planner (`sync_domains`, `enqueue`), the real
sweeper with its queue, rules and history writes, and the real `coverage()`, on a
simulated clock (one sweep a day at 03:00) with an in-process resolver and registry
that answer at once and count the questions. It prints, per day, the domains checked
and the DNS questions asked, the time those questions take at the polite rate
(`domains.dns_rate_per_second`, 50/s: the limiter the sweep uses, measured separately
on a short real run) and the day's average rate to the resolver; then the coverage:
accounts, domains, checked within the period, critical ones checked within a day, the
oldest check. Targets: every domain checked within `everyone_every_days` (30), every
critical one every day, each day's questions done within the day at <= 50/s.

    python bench/domains.py [--domains 100000] [--sample 10000]
    python bench/domains.py --population [--accounts 300000 --population-domains 120000
                                          --days 35]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dns.rdatatype
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.netdoubles.synthetic import EPOCH0, names  # noqa: E402
from bot.store.db import create_engine, session_factory  # noqa: E402
from bot.store.domain_models import Domain, DomainSweepItem  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Account, Email, Project, Role  # noqa: E402
from detectors.domains.dns import DnsProbe  # noqa: E402
from detectors.domains.dnsclient import DnsClient, DnsTransport, Reply  # noqa: E402
from detectors.domains.rdap import server_key  # noqa: E402
from detectors.domains.settings import DomainsSection, split_host_port  # noqa: E402
from detectors.domains.sources import Registries, make_probe  # noqa: E402
from detectors.domains.sweep import DomainSweeper, SweepReport  # noqa: E402

POLITE_QPS = 50  # questions per second on average to one resolver (issue #18)
CAPACITY_TARGET = 5 * POLITE_QPS


class Counting:
    """A DNS client that counts the questions it is asked."""

    def __init__(self, inner: DnsTransport) -> None:
        self.inner, self.server, self.asked = inner, inner.server, 0

    async def query(self, name: str, rdtype: dns.rdatatype.RdataType) -> Reply:
        self.asked += 1
        return await self.inner.query(name, rdtype)

    async def close(self) -> None:
        await self.inner.close()


class Doubles:
    """The network doubles in their own process, at a given synthetic epoch."""

    def __init__(self, epoch: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.netdoubles", "serve", "--synthetic-epoch", str(epoch)],
            stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"netdoubles did not start: {line!r}")
        self.where: dict[str, str] = json.loads(line.removeprefix("READY "))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def seed(url: str, domains: list[str], critical_share: float) -> None:
    """One verified maintainer per domain; every 1/critical_share-th maintains a critical project."""
    engine = sa.create_engine(url.replace("+aiosqlite", ""))
    every = max(1, round(1 / critical_share))
    verified = datetime(2024, 6, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(Project), [
            {"id": i + 1, "name": f"crit{i}", "normalized_name": f"crit{i}", "critical": True,
             "quarantined": False} for i in range(100)])
        conn.execute(sa.insert(Account), [
            {"id": i + 1, "username": f"user{i}", "frozen": False} for i in range(len(domains))])
        conn.execute(sa.insert(Email), [
            {"account_id": i + 1, "email": f"user{i}@{d}", "primary": True, "verified": True,
             "verified_at": verified, "source": "index-db"} for i, d in enumerate(domains)])
        conn.execute(sa.insert(Role), [
            {"project_id": i % 100 + 1, "account_id": i + 1, "role": "Owner"}
            for i in range(0, len(domains), every)])
    engine.dispose()


async def sweep(
    url: str, cfg: DomainsSection, now: datetime
) -> tuple[SweepReport, float, float, int]:
    """The report, wall seconds, this process's CPU seconds and DNS questions of one sweep."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    probe, registries = make_probe(cfg), Registries.from_settings(cfg)
    counting = Counting(probe.transport)
    probe.transport = counting
    started, cpu = time.perf_counter(), time.process_time()
    try:
        report = await DomainSweeper(sessions, cfg, probe, registries).run(now)
    finally:
        await probe.close()
        await registries.close()
        await engine.dispose()
    return report, time.perf_counter() - started, time.process_time() - cpu, counting.asked


async def registry_counts(url: str, sweep_id: int) -> tuple[Counter[str], Counter[str]]:
    """(domains of this sweep sent to the registry, all domains) per real server."""
    registries = Registries.from_settings(DomainsSection())  # the bundled bootstrap
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            rows = (await session.execute(
                sa.select(Domain.name, DomainSweepItem.reason).join(
                    DomainSweepItem, DomainSweepItem.domain_id == Domain.id)
                .where(DomainSweepItem.sweep_id == sweep_id))).all()
    finally:
        await engine.dispose()
        await registries.close()
    tiered: Counter[str] = Counter()
    everything: Counter[str] = Counter()
    for name, reason in rows:
        route = registries.route(name) or "none"
        source, _, server = route.partition(" ")
        key = f"{source} {server_key(server) if source == 'rdap' else server}"
        everything[key] += 1
        if reason is not None:
            tiered[key] += 1
    return tiered, everything


def wall_seconds(counts: Counter[str], cfg: DomainsSection) -> tuple[float, str]:
    """Servers work in parallel, each at its own rate: the slowest one sets the time."""
    worst, slowest = 0.0, "-"
    for key, count in counts.items():
        rate = cfg.rdap_rate_per_second if key.startswith("rdap") else cfg.whois_rate_per_second
        if count / rate > worst:
            worst, slowest = count / rate, key
    return worst, slowest


async def bare_resolution(resolver: str, sample: list[str]) -> float:
    """NS questions/s about `sample`, through the sweep's client and nothing else."""
    host, port = split_host_port(resolver, 53)
    probe = DnsProbe(DnsClient(host, port, 2.0, 2))
    gate = asyncio.Semaphore(DomainsSection().dns_concurrency)

    async def one(name: str) -> None:
        async with gate:
            await probe.observe(name)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one(n) for n in sample))
    finally:
        await probe.close()
    return len(sample) / (time.perf_counter() - started)


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def run(args: argparse.Namespace, url: str) -> None:
    domains = names(args.domains)
    upgrade(url)
    started = time.perf_counter()
    seed(url, domains, args.critical_share)
    print(f"seeded {len(domains):,} maintainers in {time.perf_counter() - started:.1f} s")
    reports: dict[str, SweepReport] = {}
    cpus: dict[str, float] = {}
    asked: dict[str, int] = {}
    for epoch, label in ((0, "cold"), (1, "steady")):
        doubles = Doubles(epoch)
        try:
            cfg = DomainsSection(
                resolver=doubles.where["dns"], rdap_url=doubles.where["rdap"].rstrip("/"),
                rdap_rate_per_second=10_000, everyone_every_days=1,
                dns_retry_seconds=1.0, dns_rate_per_second=0)  # capacity: unthrottled
            report, seconds, cpu, questions = asyncio.run(
                sweep(url, cfg, EPOCH0 + timedelta(days=epoch)))
            reports[label], cpus[label], asked[label] = report, cpu, questions
            checked = report.dns_checked + report.dns_failed
            print(f"{label:>6} sweep: {checked:,} domains; plan {report.plan_seconds:.1f} s; "
                  f"DNS tier {report.dns_seconds:.1f} s ({checked / report.dns_seconds:,.0f} "
                  f"domains/s, {questions / report.dns_seconds:,.0f} questions/s); whole sweep "
                  f"{seconds:.1f} s wall, {cpu:.1f} s CPU; registry "
                  f"{sum(report.reasons.values()):,} {dict(report.reasons)}; "
                  f"findings {report.findings}")
            if label == "steady":  # same-run baseline, against the same server
                sample = domains[:: max(1, len(domains) // args.sample)][: args.sample]
                bare = asyncio.run(bare_resolution(doubles.where["dns"], sample))
        finally:
            doubles.stop()

    steady = reports["steady"]
    checked = steady.dns_checked + steady.dns_failed
    share = sum(steady.reasons.values()) / checked
    tiered, everything = asyncio.run(registry_counts(url, steady.sweep_id))
    real = DomainsSection()  # the default rates: 1 RDAP request/s per server, WHOIS 0.5/s
    tiered_s, tiered_worst = wall_seconds(tiered, real)
    all_s, all_worst = wall_seconds(everything, real)
    tiered_total = steady.dns_seconds + tiered_s
    print()
    qps = asked["steady"] / steady.dns_seconds
    print(f"DNS tier (steady state, unthrottled): {qps:,.0f} questions/s "
          f"[target >= {CAPACITY_TARGET}: 5x the polite {POLITE_QPS}/s]; "
          f"{checked / steady.dns_seconds:,.0f} domains/s "
          f"({asked['steady'] / checked:.2f} questions a domain)")
    print(f"  CPU of the sweep process: {1e6 * cpus['steady'] / checked:,.0f} us/domain "
          f"(= {checked / cpus['steady']:,.0f} domains per CPU-second; the machine is shared, "
          "so wall-clock rates vary)")
    print(f"  same-run baseline, bare NS questions about {len(sample):,} of those domains "
          f"(server cache warm), same dnspython client: {bare:,.0f}/s; ratio tier/bare "
          f"{qps / bare:.2f}")
    print(f"  at the polite {POLITE_QPS} questions/s, this sweep's {asked['steady']:,} questions "
          f"take {hours(asked['steady'] / POLITE_QPS)}")
    print(f"RDAP share (steady state): {share:.2%} ({sum(steady.reasons.values()):,} of "
          f"{checked:,}) [target <= 5%]")
    print(f"estimated wall time at {real.rdap_rate_per_second:g} RDAP req/s per server "
          f"(WHOIS {real.whois_rate_per_second:g}/s):")
    print(f"  tiered sweep:   {hours(tiered_total)} (DNS {steady.dns_seconds:.0f} s + slowest "
          f"registry server {hours(tiered_s)}: {tiered_worst}, {tiered[tiered_worst]:,} queries)")
    print(f"  all by RDAP:    {hours(all_s)} (slowest: {all_worst}, "
          f"{everything[all_worst]:,} queries)")
    print(f"  ratio:          {all_s / tiered_total:.1f}x faster tiered")
    ok = qps >= CAPACITY_TARGET and share <= 0.05
    print("targets met" if ok else "targets NOT met")
    if not ok:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=100_000)
    parser.add_argument("--critical-share", type=float, default=0.08)
    parser.add_argument("--sample", type=int, default=10_000, help="baseline sample size")
    parser.add_argument("--population", action="store_true",
                        help="the 300,000-account population's schedule instead")
    parser.add_argument("--accounts", type=int, default=300_000)
    parser.add_argument("--population-domains", type=int, default=120_000)
    parser.add_argument("--population-critical", type=float, default=0.10)
    parser.add_argument("--days", type=int, default=35)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        if args.population:
            from bench.domains_population import population
            population(args, url)
        else:
            run(args, url)


if __name__ == "__main__":
    main()
