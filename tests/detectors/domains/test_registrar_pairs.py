"""Item 5 of issue 18: a registry and a registrar that date one registration hours apart.

The pair is real (tests/data/domains/SOURCES.md): Verisign's RDAP answer for google.com
says it was registered 1997-09-15T04:00:00Z, MarkMonitor's WHOIS says 07:00+0000. Asking
one and later the other must never look like a re-registration of a 25-year-old domain.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.netdoubles import NetDoubles, RdapDomain
from bot.store.domain_models import Domain, DomainObservation
from detectors.domains.rdap_parse import decode, parse_domain
from detectors.domains.registry import RegistryObservation, RegistryRecord
from detectors.domains.rules import Facts, RuleConfig, evaluate, registration_note
from detectors.domains.settings import DomainsSection
from detectors.domains.whois import parse_whois

from .conftest import T0, Maintainer, seed
from .test_sweep import sweep

DATA = Path(__file__).parents[2] / "data" / "domains"
NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
VERIFIED = datetime(2014, 6, 1, tzinfo=UTC)  # long after the registration, long before now
CFG = RuleConfig(expiring_days=30, parking=("sedoparking.com",))


def registry() -> RegistryObservation:
    body = (DATA / "google.com.registry-rdap.json").read_bytes()
    record = parse_domain(decode(body), "google.com")
    return RegistryObservation("rdap", "found", "https://rdap.verisign.com/com/v1/", record)


def registrar() -> RegistryObservation:
    text = (DATA / "google.com.registrar-whois.txt").read_text()
    return parse_whois("google.com", text, "whois.markmonitor.com")


def hits(now: RegistryObservation, before: RegistryRecord | None) -> set[str]:
    facts = Facts(domain="google.com", as_of=NOW, registry=now, previous_registry=before,
                  previous_registry_at=NOW - timedelta(days=30), reference=VERIFIED)
    return {h.kind for h in evaluate(facts, CFG)}


def test_the_pair_is_one_registration_three_hours_apart() -> None:
    a, b = registry().record, registrar().record
    assert a is not None and b is not None
    assert a.registered == datetime(1997, 9, 15, 4, 0, tzinfo=UTC)
    assert b.registered == datetime(1997, 9, 15, 7, 0, tzinfo=UTC)
    assert (a.registrar, b.registrar) == ("MarkMonitor Inc.", "MarkMonitor, Inc.")


@pytest.mark.parametrize("order", ["registry then registrar", "registrar then registry"])
def test_no_re_registration_from_the_real_pair(order: str) -> None:
    first, second = (registry(), registrar()) if order.startswith("registry") else (
        registrar(), registry())
    assert first.record is not None
    assert hits(second, first.record) == set()


def test_the_shift_is_noted_for_the_history() -> None:
    note = registration_note(registry().record, registrar().record)
    assert "+3.0 h" in note and "same registration" in note
    assert registration_note(registry().record, registry().record) == ""


def test_a_move_of_more_than_a_day_is_a_re_registration() -> None:
    before = registry().record
    assert before is not None and before.registered is not None
    later = registry()
    assert later.record is not None
    moved = replace(later, record=replace(later.record,
                                          registered=before.registered + timedelta(days=2)))
    assert hits(moved, before) == {"re-registered"}
    assert registration_note(before, moved.record) == ""


def test_a_registration_after_the_previously_seen_expiry_is_a_re_registration() -> None:
    seen = registry().record
    assert seen is not None
    before = replace(seen, registered=None, expires=datetime(2025, 6, 1, tzinfo=UTC))
    now = registry()
    assert now.record is not None
    fresh = replace(now, record=replace(now.record, registered=datetime(2025, 9, 1, tzinfo=UTC),
                                        expires=datetime(2027, 9, 1, tzinfo=UTC)))
    assert hits(fresh, before) == {"re-registered"}


def test_new_registrar_with_new_nameservers_is_evidence_same_registrar_renamed_is_not() -> None:
    before = registry().record
    now = registrar()
    assert before is not None and now.record is not None
    other = replace(now, record=replace(now.record, registrar="Dynadot Inc", registrar_id="472",
                                        nameservers=("ns1.dyna-ns.net", "ns2.dyna-ns.net")))
    assert hits(other, before) == {"re-registered"}
    same_id = replace(now, record=replace(now.record, registrar="MarkMonitor Brand Protection",
                                          registrar_id="292",
                                          nameservers=("ns1.dyna-ns.net", "ns2.dyna-ns.net")))
    assert hits(same_id, before) == set()


def test_a_deletion_seen_after_verification_is_evidence() -> None:
    now = registry()
    assert now.record is not None
    deletion = ("deletion", datetime(2025, 11, 2, tzinfo=UTC))
    deleted = replace(now, record=replace(now.record, events=(*now.record.events, deletion)))
    assert hits(deleted, None) == {"re-registered"}




@pytest.mark.usefixtures("no_env")
async def test_sweep_asking_two_servers_hours_apart_raises_nothing_and_notes_it(
    doubles: NetDoubles, cfg: DomainsSection, sessions: async_sessionmaker[AsyncSession],
    store_url: str,
) -> None:
    cfg = cfg.model_copy(update={"registry_every_days": 1})
    doubles.dns.set_zone("old-maint.com")
    doubles.rdap.set_domain("old-maint.com", RdapDomain(
        registered=datetime(1997, 9, 15, 4, 0, tzinfo=UTC)))
    await seed(sessions, [Maintainer("ann", "ann@old-maint.com", projects=("requests",))],
               critical={"requests"})
    _, first = await sweep(sessions, store_url, cfg, T0)
    doubles.rdap.set_domain("old-maint.com", RdapDomain(
        registered=datetime(1997, 9, 15, 7, 0, tzinfo=UTC)))
    _, second = await sweep(sessions, store_url, cfg, T0 + timedelta(days=1))
    assert first == [] and second == []
    async with sessions() as session:
        rows = (await session.execute(
            sa.select(DomainObservation).join(Domain).where(
                Domain.name == "old-maint.com", DomainObservation.source == "rdap")
            .order_by(DomainObservation.id))).scalars().all()
    assert len(rows) == 2
    assert "+3.0 h" in rows[1].data["detail"]
