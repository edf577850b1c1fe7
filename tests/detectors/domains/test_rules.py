"""Each rule fires on its evidence, and stays quiet on the look-alike that is not evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.types import Severity
from detectors.domains.dns import DnsObservation
from detectors.domains.registry import (
    RegistryObservation,
    RegistryRecord,
    derive_state,
    normalize_status,
)
from detectors.domains.rules import Facts, PastDns, RuleConfig, evaluate

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
VERIFIED = datetime(2020, 1, 15, tzinfo=UTC)
CFG = RuleConfig(expiring_days=30, parking=("sedoparking.com", "bodis.com"))
NS = ("ns1.host.example", "ns2.host.example")


def record(**kw: object) -> RegistryRecord:
    values: dict[str, object] = {
        "statuses": ("client transfer prohibited",),
        "registered": datetime(2015, 3, 1, tzinfo=UTC), "expires": NOW + timedelta(days=300),
        "registrar": "Example Registrar", "nameservers": NS,
    }
    values.update(kw)
    return RegistryRecord(**values)  # type: ignore[arg-type]


def found(**kw: object) -> RegistryObservation:
    return RegistryObservation("rdap", "found", "https://rdap.test/", record(**kw))


def kinds(facts: Facts) -> dict[str, Severity]:
    return {h.kind: h.severity for h in evaluate(facts, CFG)}


def facts(**kw: object) -> Facts:
    values: dict[str, object] = {"domain": "example.org", "as_of": NOW, "reference": VERIFIED}
    values.update(kw)
    return Facts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("obs", "expected"), [
    (found(), {}),
    (found(expires=NOW + timedelta(days=12)), {"expiring": Severity.WARNING}),
    (found(expires=NOW - timedelta(days=3)), {"expired": Severity.HIGH}),
    (found(statuses=("auto renew period",)), {"expired": Severity.HIGH}),
    (found(statuses=("redemption period", "pending delete")), {"redemption": Severity.HIGH}),
    (found(statuses=("pending delete",)), {"pending-delete": Severity.HIGH}),
    (found(statuses=("client hold",)), {"hold": Severity.WARNING}),
    (RegistryObservation("rdap", "not-found", "x"), {"unregistered": Severity.HIGH}),
])
def test_lifecycle_rules(obs: RegistryObservation, expected: dict[str, Severity]) -> None:
    assert kinds(facts(registry=obs)) == expected


@pytest.mark.parametrize("outcome", ["timeout", "error", "malformed", "rate-limited", "no-service"])
def test_no_registry_answer_is_no_evidence(outcome: str) -> None:
    obs = RegistryObservation("rdap", outcome, "x", detail="whatever")
    assert kinds(facts(registry=obs, nxdomain_now=False)) == {}
    assert derive_state(obs, NOW, 30)[0] == "unknown"


def test_registered_after_the_email_was_verified_is_resurrection() -> None:
    hits = evaluate(facts(registry=found(registered=datetime(2022, 5, 14, tzinfo=UTC))), CFG)
    assert [(h.kind, h.severity) for h in hits] == [("re-registered", Severity.CRITICAL)]
    assert "after the email was verified (2020-01-15)" in hits[0].summary
    # registered long before the verification: the maintainer owned it then
    assert kinds(facts(registry=found(registered=datetime(2019, 5, 14, tzinfo=UTC)))) == {}


def test_creation_date_that_moved_is_resurrection_even_without_a_verification_date() -> None:
    before = record(registered=datetime(2010, 1, 1, tzinfo=UTC))
    obs = found(registered=datetime(2012, 1, 1, tzinfo=UTC))
    assert kinds(facts(registry=obs, reference=None, previous_registry=before)) == {
        "re-registered": Severity.CRITICAL}


@pytest.mark.parametrize("action", ["transfer", "reinstantiation"])
def test_transfer_or_reinstantiation_after_verification(action: str) -> None:
    late = found(events=((action, datetime(2023, 7, 1, tzinfo=UTC)),))
    early = found(events=((action, datetime(2018, 7, 1, tzinfo=UTC)),))
    assert kinds(facts(registry=late)) == {"re-registered": Severity.CRITICAL}
    assert kinds(facts(registry=early)) == {}


def test_registrar_change_needs_a_nameserver_change_too() -> None:
    before = record(registrar="Old Registrar")
    both = found(registrar="New Registrar", nameservers=("ns1.other.example",))
    registrar_only = found(registrar="New Registrar")
    assert kinds(facts(registry=both, previous_registry=before)) == {
        "re-registered": Severity.CRITICAL}
    assert kinds(facts(registry=registrar_only, previous_registry=before)) == {}


def test_parking_nameservers_from_dns_or_registry() -> None:
    parked = ("ns1.sedoparking.com", "ns2.sedoparking.com")
    dns = DnsObservation("noerror", ns=parked)
    assert kinds(facts(dns=dns)) == {"parked": Severity.CRITICAL}
    assert kinds(facts(registry=found(nameservers=parked))) == {"parked": Severity.CRITICAL}
    both = evaluate(facts(dns=dns, registry=found(nameservers=parked)), CFG)
    assert len(both) == 1  # same evidence key: one hit


def test_nxdomain_then_resolving_again_is_resurrection() -> None:
    past = PastDns("nxdomain", (), None, datetime(2026, 2, 20, tzinfo=UTC))
    back = DnsObservation("noerror", ns=("ns1.newowner.example",))
    assert kinds(facts(dns=back, previous_dns=past)) == {"re-registered": Severity.CRITICAL}
    # the NXDOMAIN gap ended before the email was verified: the maintainer verified later
    assert kinds(facts(dns=back, previous_dns=past, reference=NOW)) == {}


def test_mx_change_only_for_critical_maintainers() -> None:
    past = PastDns("noerror", NS, ("10 mx.example.org",), NOW - timedelta(days=1))
    now = DnsObservation("noerror", ns=NS, mx=("10 mx.attacker.example",))
    assert kinds(facts(dns=now, previous_dns=past, critical=True)) == {
        "mx-changed": Severity.WARNING}
    assert kinds(facts(dns=now, previous_dns=past, critical=False)) == {}
    unknown_mx = DnsObservation("noerror", ns=NS, mx=None)  # the MX query failed: no guess
    assert kinds(facts(dns=unknown_mx, previous_dns=past, critical=True)) == {}


def test_failed_dns_is_never_evidence() -> None:
    past = PastDns("nxdomain", (), None, NOW - timedelta(days=1))
    for outcome in ("servfail", "timeout", "error"):
        assert kinds(facts(dns=DnsObservation(outcome), previous_dns=past, critical=True)) == {}


def test_undelegated_only_when_the_registry_does_not_explain_it() -> None:
    assert kinds(facts(registry=found(), nxdomain_now=True)) == {"undelegated": Severity.WARNING}
    # NXDOMAIN is evidence even when the registry then times out; before the registry
    # was asked (the DNS tier) it waits for it
    assert kinds(facts(nxdomain_now=True, registry_unavailable=True)) == {
        "undelegated": Severity.WARNING}
    assert kinds(facts(nxdomain_now=True)) == {}
    assert kinds(facts(registry=found(statuses=("client hold",)), nxdomain_now=True)) == {
        "hold": Severity.WARNING}


def test_mailbox_providers_only_for_their_expiry() -> None:
    obs = found(registered=datetime(2024, 1, 1, tzinfo=UTC), expires=NOW + timedelta(days=5),
                nameservers=("ns1.sedoparking.com",))
    assert kinds(facts(registry=obs, mailbox_provider=True)) == {"expiring": Severity.WARNING}


def test_as_of_moves_the_clock() -> None:
    obs = found(expires=datetime(2022, 5, 20, tzinfo=UTC))
    assert kinds(facts(registry=obs, as_of=datetime(2022, 5, 1, tzinfo=UTC))) == {
        "expiring": Severity.WARNING}
    assert kinds(facts(registry=obs, as_of=datetime(2022, 6, 1, tzinfo=UTC))) == {
        "expired": Severity.HIGH}
    assert kinds(facts(registry=obs, as_of=datetime(2021, 1, 1, tzinfo=UTC))) == {}


@pytest.mark.parametrize(("raw", "normal"), [
    ("clientTransferProhibited https://icann.org/epp#clientTransferProhibited",
     "client transfer prohibited"),
    ("client transfer prohibited", "client transfer prohibited"),
    ("ok", "active"), ("redemptionPeriod", "redemption period"), ("serverHold", "server hold"),
    ("Pending Delete", "pending delete"), ("connect", "active"),
])
def test_status_spelling(raw: str, normal: str) -> None:
    assert normalize_status(raw) == normal


@pytest.mark.parametrize(("statuses", "days_ago", "state"), [
    ((), 3, "grace"),  # within ICANN's 45-day auto-renew grace
    ((), 45, "grace"),
    ((), 46, "expired-unknown"),
    ((), 175, "expired-unknown"),  # issue 18: was reported as "grace period"
    (("auto renew period",), 10, "grace"),
    (("redemption period", "pending delete"), 60, "redemption"),
    (("pending delete",), 78, "pending-delete"),
])
def test_grace_follows_statuses_and_icann_timelines(
    statuses: tuple[str, ...], days_ago: int, state: str,
) -> None:
    obs = found(statuses=statuses or ("client transfer prohibited",),
                expires=NOW - timedelta(days=days_ago))
    assert derive_state(obs, NOW, 30)[0] == state


def test_expired_long_ago_says_state_unknown_never_grace() -> None:
    obs = found(expires=NOW - timedelta(days=175))
    [hit] = evaluate(facts(registry=obs), CFG)
    assert (hit.kind, hit.severity) == ("expired", Severity.HIGH)
    assert "expired, state unknown" in hit.summary and "175 days ago" in hit.summary
    assert "grace period" not in hit.summary.replace("45-day grace", "")
    recent = evaluate(facts(registry=found(expires=NOW - timedelta(days=12))), CFG)
    assert "within the 45-day auto-renew grace period" in recent[0].summary
