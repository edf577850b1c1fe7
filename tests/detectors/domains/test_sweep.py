"""The sweep end to end, on SQLite and PostgreSQL, against local DNS/RDAP/WHOIS servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.ledger import TrackedProjects
from bot.netdoubles import NetDoubles, RdapDomain, WhoisDomain, ZoneSpec
from bot.pipeline import Pipeline
from bot.store.domain_models import Domain, DomainObservation, DomainPendingFinding, DomainSweep
from bot.store.models import Incident
from detectors.domains.detector import DomainDetector
from detectors.domains.settings import DomainsSection
from detectors.domains.sweep import SweepReport

from .conftest import T0, Maintainer, seed

pytestmark = pytest.mark.usefixtures("no_env")


class Crash(Exception):
    pass


async def sweep(
    sessions: async_sessionmaker[AsyncSession], store_url: str, cfg: DomainsSection,
    now: datetime, **kw: Any,
) -> tuple[SweepReport, list[Incident]]:
    """One scheduled sweep through the pipeline: the incidents it opened or updated."""
    detector = DomainDetector(cfg, sessions=sessions, **kw)
    pipeline = Pipeline(sessions, Settings(store={"url": store_url}), [detector],
                        TrackedProjects(), [])
    ids = await pipeline.sweep(now)
    async with sessions() as session:
        incidents = [i for i in [await session.get(Incident, n) for n in sorted(set(ids))] if i]
    assert detector.last_report is not None
    return detector.last_report, incidents


def by_subject(incidents: list[Incident]) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    for incident in incidents:
        found.setdefault(incident.subject, set()).add((incident.kind, incident.severity))
    return found


async def test_first_sweep_raises_what_the_registry_confirms(
    doubles: NetDoubles, cfg: DomainsSection, sessions: async_sessionmaker[AsyncSession],
    store_url: str,
) -> None:
    cfg = cfg.model_copy(update={"registry_every_days": 1})
    dns, rdap = doubles.dns, doubles.rdap
    for name in ("healthy.com", "expiring.com", "lapsed.org", "flaky.com", "slow.org",
                 "beispiel.de", "gmail.com"):
        dns.set_zone(name)
    dns.set_zone("parked.net", ZoneSpec(ns=("ns1.sedoparking.com", "ns2.sedoparking.com")))
    dns.set_zone("flaky.com", ZoneSpec(behaviour="servfail"))
    dns.set_zone("slow.org", ZoneSpec(behaviour="timeout"))
    rdap.set_domain("healthy.com")
    rdap.set_domain("expiring.com", RdapDomain(expires=T0 + timedelta(days=10)))
    rdap.set_domain("lapsed.org", RdapDomain(state="grace"))
    rdap.set_domain("parked.net")
    rdap.set_domain("flaky.com")  # DNS fails: not evidence; the registry says all is well
    rdap.set_domain("slow.org")
    rdap.set_domain("gmail.com", RdapDomain(registered=datetime(2025, 1, 1, tzinfo=UTC)))
    doubles.whois.set_domain("beispiel.de")
    await seed(sessions, [
        Maintainer("alice", "alice@healthy.com", projects=("requests",)),
        Maintainer("bob", "bob@expiring.com", projects=("six",)),
        Maintainer("carol", "carol@mail.lapsed.org"),
        Maintainer("carol2", "carol@lapsed.org"),
        Maintainer("dave", "dave@parked.net", projects=("requests",)),
        Maintainer("erin", "erin@gone.com", source="metadata"),
        Maintainer("frank", "frank@flaky.com"),
        Maintainer("gina", "gina@slow.org"),
        Maintainer("hank", "hank@beispiel.de"),
        Maintainer("ivan", "ivan@gmail.com"),  # registered after ivan verified: ignored
        Maintainer("judy", "judy@unverified.com", verified=False),
        Maintainer("kim", "not-an-address"),
    ], critical={"requests"})

    report, incidents = await sweep(sessions, store_url, cfg, T0)

    assert by_subject(incidents) == {
        "domain:expiring.com": {("expiring", "warning")},
        "domain:lapsed.org": {("expired", "high")},
        "domain:parked.net": {("parked", "critical")},
        "domain:gone.com": {("unregistered", "high")},
    }
    assert report.finished and report.planned == 9 and report.bad_addresses == 1
    assert (report.dns_checked, report.dns_failed) == (7, 2)
    parked = next(i for i in incidents if i.subject == "domain:parked.net")
    assert parked.playbooks == ["unverify-email", "freeze"]
    accounts = parked.evidence[-1]
    assert "dave" in accounts["summary"] and "critical projects: requests" in accounts["summary"]
    assert "critical projects: requests" in parked.summary
    gone = next(i for i in incidents if i.subject == "domain:gone.com")
    assert "weaker signal" in gone.evidence[-1]["summary"]
    lapsed = next(i for i in incidents if i.subject == "domain:lapsed.org")
    assert {a["username"] for a in lapsed.evidence[-1]["data"]["accounts"]} == {"carol", "carol2"}
    assert [q for q in doubles.whois.queries] == ["beispiel.de"]
    async with sessions() as session:
        flaky = (await session.execute(sa.select(DomainObservation).join(Domain).where(
            Domain.name == "flaky.com"))).scalars().all()
        assert [(o.source, o.outcome, o.evidence) for o in flaky] == [
            ("dns", "servfail", False), ("rdap", "found", True)]
        pending = (await session.execute(sa.select(DomainPendingFinding))).scalars().all()
        assert pending and all(p.delivered_at is not None for p in pending)
    # a failing domain is asked again later in the sweep; others once (NS, and MX when
    # the maintainer is critical)
    asked = doubles.dns.asked
    assert (asked["flaky.com"], asked["expiring.com"], asked["healthy.com"]) == (2, 1, 2)


async def test_history_rules_across_sweeps(
    doubles: NetDoubles, cfg: DomainsSection, sessions: async_sessionmaker[AsyncSession],
    store_url: str,
) -> None:
    cfg = cfg.model_copy(update={"registry_every_days": 1, "everyone_every_days": 1})
    dns, rdap = doubles.dns, doubles.rdap
    rdap.set_domain("revived.com", RdapDomain(state="unregistered"))
    dns.set_zone("mailmoved.com", ZoneSpec(mx=("10 mx.mailmoved.com",)))
    rdap.set_domain("mailmoved.com")
    dns.set_zone("recreated.org")
    rdap.set_domain("recreated.org", RdapDomain(registered=datetime(2012, 1, 1, tzinfo=UTC)))
    dns.set_zone("switched.net")
    rdap.set_domain("switched.net", RdapDomain(registrar="Old Registrar"))
    dns.set_zone("quiet.com")
    rdap.set_domain("quiet.com")
    await seed(sessions, [
        Maintainer("alice", "alice@revived.com"),
        Maintainer("bob", "bob@mailmoved.com", projects=("urllib3",)),
        Maintainer("carol", "carol@recreated.org", verified_at=None),
        Maintainer("dave", "dave@switched.net"),
        Maintainer("erin", "erin@quiet.com"),
    ], critical={"urllib3"})

    _, first = await sweep(sessions, store_url, cfg, T0)
    assert by_subject(first) == {"domain:revived.com": {("unregistered", "high")}}

    # A day later: re-registered by someone else, mail moved, creation date moved,
    # registrar and nameservers changed together.
    dns.set_zone("revived.com", ZoneSpec(ns=("ns1.newowner.example",)))
    rdap.set_domain("revived.com", RdapDomain(registered=T0 + timedelta(hours=12)))
    dns.set_zone("mailmoved.com", ZoneSpec(mx=("10 mx.attacker.example",)))
    rdap.set_domain("recreated.org", RdapDomain(registered=datetime(2026, 2, 1, tzinfo=UTC)))
    rdap.set_domain("switched.net", RdapDomain(  # another registrar: another IANA id
        registrar="New Registrar", registrar_id="1234", nameservers=("ns1.elsewhere.example",)))
    report, second = await sweep(sessions, store_url, cfg, T0 + timedelta(days=1))
    assert by_subject(second) == {
        "domain:revived.com": {("re-registered", "critical")},
        "domain:mailmoved.com": {("mx-changed", "warning")},
        "domain:recreated.org": {("re-registered", "critical")},
        "domain:switched.net": {("re-registered", "critical")},
    }
    revived = next(i for i in second if i.subject == "domain:revived.com")
    assert "resolves again" in revived.summary or "after" in revived.summary
    assert report.reasons["dns:back"] == 1 and report.reasons["dns:mx-changed"] == 1

    # Nothing new the day after: the same evidence raises nothing again.
    _, third = await sweep(sessions, store_url, cfg, T0 + timedelta(days=2))
    assert third == []
    async with sessions() as session:
        count = (await session.execute(sa.select(sa.func.count()).select_from(Incident))).scalar()
        quiet = (await session.execute(sa.select(DomainObservation).join(Domain).where(
            Domain.name == "quiet.com", DomainObservation.source == "dns"))).scalars().all()
    assert count == 4  # revived.com: unregistered, then re-registered: one incident
    assert [(o.outcome, o.times) for o in quiet] == [("noerror", 3)]  # one row, seen 3 times


async def test_timeouts_and_servfail_never_raise_anything(
    doubles: NetDoubles, cfg: DomainsSection, sessions: async_sessionmaker[AsyncSession],
    store_url: str,
) -> None:
    cfg = cfg.model_copy(update={"dns_attempts": 1, "dns_timeout_seconds": 0.15,
                                 "rdap_timeout_seconds": 0.3, "everyone_every_days": 1,
                                 "dns_failures_before_registry": 2})
    doubles.dns.set_zone("servfail.com", ZoneSpec(behaviour="servfail"))
    doubles.dns.set_zone("silent.com", ZoneSpec(behaviour="timeout"))
    doubles.dns.set_zone("garbled.org", ZoneSpec(behaviour="garbage"))
    doubles.rdap.set_raw("servfail.com", 503, "try later")
    doubles.rdap.set_raw("garbled.org", 200, '{"events": "soon"}')
    doubles.rdap.delay = 0.5  # every RDAP answer comes too late (timeout 0.3 s)
    await seed(sessions, [Maintainer("a", "a@servfail.com", projects=("pip",)),
                          Maintainer("b", "b@silent.com"), Maintainer("c", "c@garbled.org")],
               critical={"pip"})
    reports = []
    for day in range(3):
        report, incidents = await sweep(sessions, store_url, cfg, T0 + timedelta(days=day))
        assert incidents == []
        reports.append(report)
    assert [r.dns_failed for r in reports] == [3, 3, 3]
    # the first sweep asks the registry only for its daily share; from the second failing
    # sweep on it asks for all three; every answer fails too: still nothing
    assert reports[0].reasons == {"stale": 1} and reports[0].registry_failed == 1
    assert reports[1].reasons == {"dns:failing": 3}
    assert reports[1].registry_failed == 3 and reports[1].registry_checked == 0
    async with sessions() as session:
        evidence = (await session.execute(sa.select(sa.func.count()).select_from(
            DomainObservation).where(DomainObservation.evidence))).scalar()
        states = (await session.execute(sa.select(Domain.state))).scalars().all()
    assert evidence == 0 and set(states) == {None}


async def test_nxdomain_is_evidence_even_when_the_registry_times_out(
    doubles: NetDoubles, cfg: DomainsSection, sessions: async_sessionmaker[AsyncSession],
    store_url: str,
) -> None:
    doubles.rdap.delay = 0.5
    await seed(sessions, [Maintainer("v", "v@vanished.com")])  # no zone: NXDOMAIN
    report, incidents = await sweep(
        sessions, store_url, cfg.model_copy(update={"rdap_timeout_seconds": 0.2}), T0)
    assert by_subject(incidents) == {"domain:vanished.com": {("undelegated", "warning")}}
    assert report.registry_failed == 1 and "state: unknown" in incidents[0].summary


async def test_registry_is_asked_only_when_needed(
    doubles: NetDoubles, cfg: DomainsSection, sessions: async_sessionmaker[AsyncSession],
    store_url: str,
) -> None:
    names = [f"site{i}.com" for i in range(60)]
    for name in names:
        doubles.dns.set_zone(name)
        doubles.rdap.set_domain(name)
    doubles.dns.remove("site7.com")  # NXDOMAIN: flagged by DNS
    await seed(sessions, [Maintainer(f"m{i}", f"m@{n}") for i, n in enumerate(names)])
    report, _ = await sweep(sessions, store_url, cfg, T0)
    # 60 domains / 30 days: a share of 2 stale ones a day, plus the one DNS flagged
    assert report.reasons == {"stale": 2, "dns:nxdomain": 1}
    assert len(doubles.rdap.log) == 3 and report.dns_checked == 60


async def test_interrupted_sweep_resumes_without_checking_twice(
    doubles: NetDoubles, cfg: DomainsSection, sessions: async_sessionmaker[AsyncSession],
    store_url: str,
) -> None:
    cfg = cfg.model_copy(update={"chunk_size": 5, "lease_seconds": 120.0})
    names = [f"node{i:02d}.org" for i in range(40)]
    for name in names:
        doubles.dns.set_zone(name)
    await seed(sessions, [Maintainer(f"m{i}", f"m@{n}") for i, n in enumerate(names)])

    def crash(stage: str, done: int, total: int) -> None:
        if stage == "dns" and done >= 15:
            raise Crash  # the process dies mid-sweep, right after a chunk was stored

    detector = DomainDetector(cfg, sessions=sessions, progress=crash)
    with pytest.raises(Crash):
        await detector.run_sweep(sessions, T0)
    async with sessions() as session:
        checked = set((await session.execute(sa.select(Domain.name).where(
            Domain.dns_checked_at.is_not(None)))).scalars())
    assert 15 <= len(checked) < 40

    report, _ = await sweep(sessions, store_url, cfg, T0 + timedelta(seconds=121))
    assert report.resumed and report.finished
    async with sessions() as session:
        rows = (await session.execute(sa.select(Domain.name, DomainObservation.times).join(
            DomainObservation).where(DomainObservation.source == "dns"))).all()
        sweeps = (await session.execute(sa.select(DomainSweep.status))).scalars().all()
    assert sorted(n for n, _ in rows) == names and all(times == 1 for _, times in rows)
    assert all(doubles.dns.asked[name] == 1 for name in checked)  # never asked again
    assert sweeps == ["done"]


async def test_detector_finds_the_engine_from_the_pipeline_session(
    doubles: NetDoubles, cfg: DomainsSection, sessions: async_sessionmaker[AsyncSession],
    store_url: str,
) -> None:
    doubles.rdap.set_domain("whois-only.io")  # not asked: .io goes to WHOIS
    doubles.whois.set_domain("lapsing.io", WhoisDomain(expires=T0 + timedelta(days=3)))
    doubles.dns.set_zone("lapsing.io")
    await seed(sessions, [Maintainer("zed", "zed@lapsing.io")])
    detector = DomainDetector(cfg.model_copy(update={"registry_every_days": 1}))
    pipeline = Pipeline(sessions, Settings(store={"url": store_url}), [detector],
                        TrackedProjects(), [])
    ids = await pipeline.sweep(T0)
    async with sessions() as session:
        incident = await session.get(Incident, ids[0])
    assert incident is not None and (incident.kind, incident.subject) == ("expiring",
                                                                          "domain:lapsing.io")
    assert doubles.rdap.log == [] and doubles.whois.queries == ["lapsing.io"]


async def test_a_scheduled_sweep_plans_at_most_once_a_day(
    doubles: NetDoubles, cfg: DomainsSection, sessions: async_sessionmaker[AsyncSession],
    store_url: str,
) -> None:
    doubles.dns.set_zone("daily.com")
    await seed(sessions, [Maintainer("d", "d@daily.com", projects=("pip",))], critical={"pip"})
    first, _ = await sweep(sessions, store_url, cfg, T0)
    again, _ = await sweep(sessions, store_url, cfg, T0 + timedelta(hours=6))
    forced, _ = await sweep(sessions, store_url, cfg, T0 + timedelta(hours=7), force=True)
    tomorrow, _ = await sweep(sessions, store_url, cfg, T0 + timedelta(days=1, hours=8))
    assert (first.planned, again.skipped, forced.skipped, tomorrow.planned) == (1, True, False, 1)
    # forced at 7 h: the critical domain was checked 7 h ago, so it is not due yet
    assert forced.planned == 0 and doubles.dns.asked["daily.com"] == 4  # NS+MX, twice
    assert tomorrow.finished and not tomorrow.skipped


async def test_registry_data_is_refreshed_every_period_whatever_the_dns_rotation(
    doubles: NetDoubles, cfg: DomainsSection, sessions: async_sessionmaker[AsyncSession],
    store_url: str,
) -> None:
    # 30 domains, 6 critical (checked daily): the other 24 come round in the DNS rotation
    # every 8 days (a share of 3 a day), sooner than the registry period of 10 days. The
    # registry share must not wait for a domain to be in the rotation: none of them may
    # go without a registry read for more than the period (issue 18's population showed
    # days with no registry look at all while domains had been due for days).
    cfg = cfg.model_copy(update={"everyone_every_days": 10, "registry_every_days": 10})
    names = [f"rot{i:02d}.com" for i in range(30)]
    for name in names:
        doubles.dns.set_zone(name)
        doubles.rdap.set_domain(name)
    await seed(sessions, [Maintainer(f"m{i}", f"m@{n}", projects=("pip",) if i % 5 == 0 else ())
                          for i, n in enumerate(names)], critical={"pip"})
    overdue: dict[int, list[str]] = {}
    asked: list[int] = []
    for day in range(26):
        now = T0 + timedelta(days=day)
        before = len(doubles.rdap.log)
        report, _ = await sweep(sessions, store_url, cfg, now)
        assert report.finished
        asked.append(len(doubles.rdap.log) - before)
        async with sessions() as session:
            late = (await session.execute(sa.select(Domain.name).where(
                sa.or_(Domain.registry_checked_at.is_(None),
                       Domain.registry_checked_at < now - timedelta(days=10, hours=1))))
            ).scalars().all()
        if day >= 9 and late:  # the first pass takes the 10 days of one period
            overdue[day] = sorted(late)
    assert overdue == {}
    assert asked == [3] * 26  # a share of 30 / 10 every day, never a day without
