"""The rules: fresh observations compared with the past, as of a date.

Pure functions of `Facts` (no I/O), so a sweep, `warden domain check` and the tests
all reach the same verdicts. Each `Hit` carries a `key` that names the evidence
(an expiry date, a registration date, a set of nameservers): the same key never
raises a second incident once the first was handled.

Only authoritative answers reach the rules: a DNS observation here is NOERROR,
NODATA or NXDOMAIN, a registry one is `found` or `not-found`. Timeouts, SERVFAIL and
malformed answers are stopped by the caller and never become a hit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.types import Evidence, Severity
from detectors.domains.dns import DnsObservation, fingerprint
from detectors.domains.names import matches_suffix
from detectors.domains.registry import RegistryObservation, RegistryRecord, derive_state

LAPSED = {
    "grace": ("expired", Severity.HIGH),
    "expired-unknown": ("expired", Severity.HIGH),
    "redemption": ("redemption", Severity.HIGH),
    "pending-delete": ("pending-delete", Severity.HIGH),
    "unregistered": ("unregistered", Severity.HIGH),
    "hold": ("hold", Severity.WARNING),
    "expiring": ("expiring", Severity.WARNING),
}
EXPLAINS_NXDOMAIN = frozenset(
    {"unregistered", "pending-delete", "redemption", "grace", "expired-unknown", "hold"})
RESURRECTION_EVENTS = ("reinstantiation", "transfer", "deletion", "reregistration")
# A registry and a registrar (or one of them across a time-zone fix) may publish the same
# registration instant hours apart: only a move of more than a day is a new registration.
REGISTRATION_TOLERANCE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PastDns:
    """The last authoritative DNS answer before the fresh one."""

    outcome: str
    ns: tuple[str, ...]
    mx: tuple[str, ...] | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Facts:
    domain: str
    as_of: datetime
    dns: DnsObservation | None = None  # fresh and authoritative, or None
    registry: RegistryObservation | None = None  # fresh and authoritative, or None
    previous_dns: PastDns | None = None
    previous_registry: RegistryRecord | None = None  # the last `found` before `registry`
    previous_registry_at: datetime | None = None
    nxdomain_now: bool = False  # the latest DNS answer (this sweep) is NXDOMAIN
    registry_unavailable: bool = False  # the registry was asked and gave no answer
    nxdomain_since: datetime | None = None
    reference: datetime | None = None  # when the maintainer's email was known to be good
    reference_label: str = "the email was verified"
    critical: bool = False
    mailbox_provider: bool = False


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str
    severity: Severity
    summary: str
    key: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleConfig:
    expiring_days: int = 30
    parking: tuple[str, ...] = field(default_factory=tuple)


def _day(value: datetime | None) -> str:
    return "unknown" if value is None else value.date().isoformat()


def _registry_evidence(obs: RegistryObservation, at: datetime) -> Evidence:
    return Evidence(summary=f"{obs.source.upper()} {obs.outcome} at {obs.server or '?'}",
                    at=at.isoformat(), url=obs.server or None, data=obs.data())


def _dns_evidence(obs: DnsObservation, at: datetime) -> Evidence:
    return Evidence(summary=f"DNS {obs.outcome} from {obs.server or 'the resolver'}",
                    at=at.isoformat(), data=obs.data())


def lifecycle(facts: Facts, cfg: RuleConfig) -> list[Hit]:
    obs = facts.registry
    if obs is None or not obs.evidence:
        return []
    state, reason = derive_state(obs, facts.as_of, cfg.expiring_days)
    if state not in LAPSED:
        return []
    kind, severity = LAPSED[state]
    record = obs.record
    expires = record.expires if record is not None else None
    d = facts.domain
    summary = {
        "expiring": f"{d} expires on {_day(expires)}: renew it or the address lapses",
        "expired": (f"{d} {reason}: the registrant can still renew it" if state == "grace"
                    else f"{d} {reason}: expired, state unknown"),
        "redemption": f"{d} is in the redemption period: it will be deleted, then anyone can "
                      "register it",
        "pending-delete": f"{d} is pending delete: anyone can register it within days",
        "unregistered": f"{d} is not registered: anyone can register it and receive the "
                        "maintainer's password-reset mail",
        "hold": f"{d} is on hold ({reason.removeprefix('status ')}): it does not resolve",
    }[kind]
    before = facts.previous_registry.registered if facts.previous_registry else None
    key = f"unregistered:{_day(before)}" if kind == "unregistered" else f"{kind}:{_day(expires)}"
    return [Hit(kind, severity, summary, key, (_registry_evidence(obs, facts.as_of),))]


def _same_registrar(before: RegistryRecord, now: RegistryRecord) -> bool:
    """By IANA id when both have one; else by name, ignoring case and punctuation
    ("MarkMonitor Inc." at the registry is "MarkMonitor, Inc." at the registrar)."""
    if before.registrar_id and now.registrar_id:
        return before.registrar_id == now.registrar_id

    def plain(name: str | None) -> str:
        return "".join(c for c in (name or "").casefold() if c.isalnum())

    return plain(before.registrar) == plain(now.registrar)


def registration_note(previous: RegistryRecord | None, record: RegistryRecord | None) -> str:
    """A registration date that moved by no more than the tolerance: said in the history
    (the observation's detail), never an incident. Empty when there is nothing to say."""
    if previous is None or record is None:
        return ""
    before, now = previous.registered, record.registered
    if before is None or now is None or before == now:
        return ""
    shift = now - before
    if abs(shift) > REGISTRATION_TOLERANCE:
        return ""
    hours = shift.total_seconds() / 3600
    return (f"registration date {now.isoformat()} differs from the {before.isoformat()} seen "
            f"before by {hours:+.1f} h (time zones of registry and registrar): same registration")


def _resurrection(facts: Facts) -> list[Hit]:
    obs = facts.registry
    if obs is None or obs.record is None:
        return []
    record, hits = obs.record, []
    evidence = (_registry_evidence(obs, facts.as_of),)
    reference, label = facts.reference, facts.reference_label
    registered = record.registered
    previous = facts.previous_registry
    if registered is not None:
        key = f"registered:{registered.isoformat()}"
        before = previous.registered if previous else None
        expired_before = previous.expires if previous else None
        if before is not None and abs(registered - before) <= REGISTRATION_TOLERANCE:
            pass  # the same registration, as another server dates it: see registration_note
        elif before is not None and registered - before > REGISTRATION_TOLERANCE:
            hits.append(Hit("re-registered", Severity.CRITICAL,
                            f"{facts.domain} was created again: registration date moved from "
                            f"{_day(before)} to {_day(registered)}", key, evidence))
        elif expired_before is not None and registered > expired_before:
            hits.append(Hit("re-registered", Severity.CRITICAL,
                            f"{facts.domain} was registered on {_day(registered)}, after the "
                            f"expiry seen before ({_day(expired_before)})", key, evidence))
        elif reference is not None and registered - reference > REGISTRATION_TOLERANCE:
            hits.append(Hit("re-registered", Severity.CRITICAL,
                            f"{facts.domain} was registered on {_day(registered)}, after "
                            f"{label} ({_day(reference)})", key, evidence))
    if reference is not None:
        for action, when in record.events:
            if action in RESURRECTION_EVENTS and when - reference > REGISTRATION_TOLERANCE:
                hits.append(Hit("re-registered", Severity.CRITICAL,
                                f"{facts.domain} had a {action} on {_day(when)}, after {label} "
                                f"({_day(reference)})", f"{action}:{when.isoformat()}", evidence))
    if (previous is not None and previous.registrar and record.registrar
            and not _same_registrar(previous, record)
            and previous.nameservers and record.nameservers
            and set(previous.nameservers) != set(record.nameservers)):
        hits.append(Hit(
            "re-registered", Severity.CRITICAL,
            f"{facts.domain} changed registrar ({previous.registrar} -> {record.registrar}) "
            f"and nameservers ({', '.join(previous.nameservers)} -> "
            f"{', '.join(record.nameservers)})",
            f"registrar:{record.registrar}:{fingerprint(record.nameservers)}", evidence))
    return hits


def _parked(facts: Facts, cfg: RuleConfig, hosts: Iterable[str], evidence: Evidence) -> list[Hit]:
    parked = sorted({h for h in hosts if matches_suffix(h, cfg.parking)})
    if not parked:
        return []
    return [Hit("parked", Severity.CRITICAL,
                f"{facts.domain} is on parking/aftermarket nameservers ({', '.join(parked)}): "
                "it has most likely changed hands", "parked:" + ",".join(parked), (evidence,))]


def _dns_rules(facts: Facts, cfg: RuleConfig) -> list[Hit]:
    obs, past = facts.dns, facts.previous_dns
    if obs is None or not obs.evidence:
        return []
    evidence = _dns_evidence(obs, facts.as_of)
    hits = _parked(facts, cfg, obs.ns, evidence)
    if obs.outcome != "nxdomain" and past is not None and past.outcome == "nxdomain" and (
            facts.reference is None or past.at >= facts.reference):
        since = facts.nxdomain_since or past.at
        hits.append(Hit("re-registered", Severity.CRITICAL,
                        f"{facts.domain} did not exist (NXDOMAIN, last seen {_day(past.at)}) "
                        f"and resolves again now (NS {', '.join(obs.ns) or 'none'})",
                        f"nxdomain-gap:{since.isoformat()}", (evidence,)))
    if (facts.critical and obs.mx is not None and past is not None and past.mx is not None
            and set(obs.mx) != set(past.mx)):
        hits.append(Hit("mx-changed", Severity.WARNING,
                        f"{facts.domain} mail servers changed from {', '.join(past.mx) or 'none'} "
                        f"to {', '.join(obs.mx) or 'none'}", "mx:" + fingerprint(obs.mx),
                        (evidence,)))
    return hits


def _undelegated(facts: Facts, cfg: RuleConfig) -> list[Hit]:
    # NXDOMAIN is evidence on its own; but while the registry has not been asked yet
    # (the DNS tier), it is left to the registry tier, whose status may explain it.
    if not facts.nxdomain_now:
        return []
    if facts.registry is not None:
        state, _ = derive_state(facts.registry, facts.as_of, cfg.expiring_days)
        if state in EXPLAINS_NXDOMAIN:
            return []
    elif facts.registry_unavailable:
        state = "unknown"
    else:
        return []
    since = facts.nxdomain_since or facts.as_of
    return [Hit("undelegated", Severity.WARNING,
                f"{facts.domain} does not resolve (NXDOMAIN since {_day(since)}; registry "
                f"state: {state}): mail to it bounces", f"nxdomain:{since.isoformat()}")]


def evaluate(facts: Facts, cfg: RuleConfig) -> list[Hit]:
    """Every rule whose inputs are present. Large mailbox providers: their expiry only."""
    hits = lifecycle(facts, cfg)
    if facts.mailbox_provider:
        return hits
    hits += _resurrection(facts)
    if facts.registry is not None and facts.registry.record is not None:
        hits += _parked(facts, cfg, facts.registry.record.nameservers,
                        _registry_evidence(facts.registry, facts.as_of))
    hits += _dns_rules(facts, cfg)
    hits += _undelegated(facts, cfg)
    # one hit per (kind, key): DNS and registry may both see the same parking NS
    return list({(h.kind, h.key): h for h in hits}.values())
