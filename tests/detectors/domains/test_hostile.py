"""Hostile upstreams (issue #14): one domain's bad answer never stops the sweep or
`warden domain check`; it becomes that domain's `unknown`, with the reason.

The doubles answer as an attacker's registry would: Retry-After "²", redirects to a
loopback admin port and to the metadata address, bodies nested 100,000 deep, NUL or an
unpaired surrogate in the registrar (neither can be stored), an expiry in year 1, and a
WHOIS answer with a NUL byte; the other domains are checked and raise their incidents.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.ledger import TrackedProjects
from bot.netdoubles import NetDoubles, RdapDomain
from bot.netdoubles.rdap import RdapDouble
from bot.pipeline import Pipeline
from bot.store.domain_models import Domain, DomainObservation
from bot.store.models import Incident
from detectors.domains.check import CheckOptions, check_domains
from detectors.domains.detector import DomainDetector
from detectors.domains.history import DomainRow
from detectors.domains.settings import DomainsSection
from detectors.domains.sources import Registries
from detectors.domains.tiers import near_expiry

from .conftest import T0, Maintainer, seed

HOSTILE_DOMAINS = {
    "squared.com": "Retry-After: ²", "admin.com": "redirect to a loopback admin port",
    "metadata.com": "redirect to the metadata address", "deep.org": "nesting 100,000 deep",
    "nul.org": "NUL in the registrar", "surrogate.org": "unpaired surrogate",
    "ancient.org": "expiry in year 1",
}


def hostile_world(doubles: NetDoubles, victim: RdapDouble) -> None:
    rdap = doubles.rdap
    for name in [*HOSTILE_DOMAINS, "lapsed.org", "healthy.com", "beispiel.de"]:
        doubles.dns.set_zone(name)
    rdap.set_raw("squared.com", 429, "{}", **{"Retry-After": "²"})
    rdap.set_redirect("admin.com", f"{victim.base_url}admin/reset", times=1000)
    rdap.set_redirect("metadata.com", "http://169.254.169.254/latest/meta-data/", times=1000)
    rdap.set_hostile("deep.org", "deep-nesting")
    rdap.set_hostile("nul.org", "nul-registrar")
    rdap.set_hostile("surrogate.org", "surrogate-registrar")
    rdap.set_hostile("ancient.org", "year-one")
    rdap.set_domain("lapsed.org", RdapDomain(state="grace"))
    rdap.set_domain("healthy.com")
    doubles.whois.set_text("beispiel.de", "Domain: beispiel.de\nStatus: connect\nChanged: "
                           "2024-01-01T00:00:00\x00+01:00\n")


async def test_sweep_goes_on_past_hostile_answers(
    doubles: NetDoubles, victim: RdapDouble, cfg: DomainsSection,
    sessions: async_sessionmaker[AsyncSession], store_url: str, no_env: None,
) -> None:
    cfg = cfg.model_copy(update={"registry_every_days": 1, "rdap_max_retries": 1})
    hostile_world(doubles, victim)
    await seed(sessions, [Maintainer(f"m{i}", f"m@{name}") for i, name in enumerate(
        [*HOSTILE_DOMAINS, "lapsed.org", "healthy.com", "beispiel.de"])])
    detector = DomainDetector(cfg, sessions=sessions)
    pipeline = Pipeline(sessions, Settings(store={"url": store_url}), [detector],
                        TrackedProjects(), [])
    ids = await asyncio.wait_for(pipeline.sweep(T0), 60)

    report = detector.last_report
    assert report is not None and report.finished
    assert (report.registry_checked, report.registry_failed) == (2, 8)
    async with sessions() as session:
        incidents = [await session.get(Incident, n) for n in sorted(set(ids))]
        assert {(i.subject, i.kind) for i in incidents if i} == {("domain:lapsed.org", "expired")}
        rows = (await session.execute(
            sa.select(Domain.name, Domain.state, DomainObservation.outcome,
                      DomainObservation.data)
            .join(DomainObservation, DomainObservation.domain_id == Domain.id)
            .where(DomainObservation.source != "dns"))).all()
    seen = {name: (state, outcome, data.get("detail", "")) for name, state, outcome, data in rows}
    assert seen["lapsed.org"][:2] == ("grace", "found")
    assert seen["healthy.com"][:2] == ("active", "found")
    for name in [*HOSTILE_DOMAINS, "beispiel.de"]:
        state, outcome, detail = seen[name]
        assert state is None and outcome in ("rate-limited", "refused", "malformed"), name
        assert detail, name
    assert victim.log == []


async def test_domain_check_reports_unknown_with_the_reason(
    doubles: NetDoubles, victim: RdapDouble, cfg: DomainsSection,
) -> None:
    hostile_world(doubles, victim)
    cfg = cfg.model_copy(update={"rdap_max_retries": 0})
    names = [*HOSTILE_DOMAINS, "lapsed.org"]
    reports = await check_domains(names, cfg, CheckOptions(as_of=T0), None, T0)
    by_name = {r["domain"]: r for r in reports}
    assert by_name["lapsed.org"]["state"] == "grace"
    for name in HOSTILE_DOMAINS:
        report = by_name[name]
        assert report["state"] == "unknown" and report["registrar"] is None, name
        unknown = [f for f in report["findings"] if f["kind"] == "unknown"]
        assert unknown and "state unknown: " in unknown[0]["summary"], name
    assert "neither seconds nor an HTTP date" in str(by_name["squared.com"]["findings"])
    assert "169.254.169.254" in str(by_name["metadata.com"]["findings"])
    assert victim.log == []


def test_old_out_of_range_expiry_in_the_store_cannot_stop_the_dns_tier() -> None:
    # stored before expiries were range-checked; "expiry minus 30 days" overflowed
    row = DomainRow(1, "old.org", False, False, T0, None, None, None, None, 0, None, None,
                    None, None, None, T0 - timedelta(days=400), "active",
                    datetime(1, 1, 1, tzinfo=UTC), None)
    assert near_expiry(row, T0, DomainsSection()) is False
    row.expires_at = T0 + timedelta(days=10)
    assert near_expiry(row, T0, DomainsSection()) is True


async def test_unexpected_registry_error_is_an_observation(cfg: DomainsSection) -> None:
    registries = Registries.from_settings(cfg)
    await registries.whois.close()  # its pool refuses work: no registry answer at all
    try:
        obs = await registries.lookup("beispiel.de")
    finally:
        await registries.close()
    assert (obs.source, obs.outcome, obs.evidence) == ("whois", "error", False)
    assert obs.detail == "lookup failed: RuntimeError: cannot schedule new futures after shutdown"
