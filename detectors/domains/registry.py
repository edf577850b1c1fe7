"""What a registry (RDAP or WHOIS) says about a domain, and the lifecycle state it implies.

Statuses use RDAP's spelling (RFC 8056): WHOIS/EPP codes such as
`clientTransferProhibited` become `client transfer prohibited`, `ok` becomes `active`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from detectors.domains.dns import fingerprint

EVIDENCE = frozenset({"found", "not-found"})
STATES = (
    "active", "expiring", "grace", "redemption", "pending-delete", "expired-unknown", "hold",
    "unregistered", "unknown",
)
_EPP_SPECIAL = {"ok": "active", "connect": "active", "autorenewperiod": "auto renew period"}
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def normalize_status(raw: str) -> str:
    """`clientHold https://icann.org/epp#clientHold` -> `client hold`; RDAP text unchanged."""
    text = raw.strip()
    word = text.split()[0] if text else ""
    if word.lower() in _EPP_SPECIAL:
        return _EPP_SPECIAL[word.lower()]
    if " " not in text or text.split()[1].startswith(("http", "(")):
        return _CAMEL.sub(" ", word).lower()
    return " ".join(text.lower().split())


def parse_instant(value: str) -> datetime:
    """An RFC 3339 / ISO 8601 timestamp as aware UTC (a zone-less one is taken as UTC)."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset
        raise ValueError(f"timestamp out of range: {value!r}") from None


# Dates a registry may publish. Outside them a date is garbage, and arithmetic on it
# (an expiry minus the warning window) would overflow; 9999-12-31 ("never") is refused.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def checked_instant(value: str) -> datetime:
    """`parse_instant` for untrusted text: also ValueError outside EARLIEST..LATEST."""
    when = parse_instant(value)
    if not EARLIEST <= when < LATEST:
        raise ValueError(f"date out of range ({EARLIEST.year} to {LATEST.year})")
    return when


@dataclass(frozen=True, slots=True)
class RegistryRecord:
    statuses: tuple[str, ...] = ()
    registered: datetime | None = None
    expires: datetime | None = None
    last_changed: datetime | None = None
    registrar: str | None = None
    registrar_id: str | None = None
    nameservers: tuple[str, ...] = ()
    events: tuple[tuple[str, datetime], ...] = ()  # every (action, date), as published

    def data(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "statuses": list(self.statuses), "registered": iso(self.registered),
            "expires": iso(self.expires), "last_changed": iso(self.last_changed),
            "registrar": self.registrar, "registrar_id": self.registrar_id,
            "nameservers": list(self.nameservers),
            "events": [[action, when.isoformat()] for action, when in self.events],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RegistryRecord:
        """Back from the stored form (our own, so trusted)."""

        def when(key: str) -> datetime | None:
            value = data.get(key)
            return None if value is None else parse_instant(value)

        return cls(
            statuses=tuple(data.get("statuses", ())), registered=when("registered"),
            expires=when("expires"), last_changed=when("last_changed"),
            registrar=data.get("registrar"), registrar_id=data.get("registrar_id"),
            nameservers=tuple(data.get("nameservers", ())),
            events=tuple((a, parse_instant(d)) for a, d in data.get("events", ())),
        )


@dataclass(frozen=True, slots=True)
class RegistryObservation:
    """One registry lookup: `found`, `not-found`, or why there is no answer.

    No answer: `malformed`, `error`, `timeout`, `rate-limited`, `no-service`, `refused`
    (a redirect or an address we would not follow or connect to).
    """

    source: str  # rdap, whois
    outcome: str
    server: str = ""
    record: RegistryRecord | None = None
    detail: str = ""

    @property
    def evidence(self) -> bool:
        return self.outcome in EVIDENCE

    def data(self) -> dict[str, Any]:
        data = self.record.data() if self.record is not None else {}
        if self.detail:
            data["detail"] = self.detail
        return data

    def fingerprint(self) -> str:
        record = self.record.data() if self.record is not None else None
        if record is not None:
            record.pop("last_changed", None)  # bumps on any edit; not a change of owner
        return fingerprint({"source": self.source, "outcome": self.outcome, "record": record})


# ICANN's timelines after expiry (gTLDs): the registry's auto-renew grace lasts up to
# 45 days, the redemption grace period 30 days, pending delete 5 days. A domain whose
# expiry is further back than the grace and whose registry shows none of these statuses
# is in a state we cannot name: it is reported as "expired, state unknown", not guessed.
AUTO_RENEW_GRACE = timedelta(days=45)
REDEMPTION = timedelta(days=30)
PENDING_DELETE = timedelta(days=5)


def derive_state(
    registry: RegistryObservation | None, as_of: datetime, expiring_days: int
) -> tuple[str, str]:
    """The lifecycle state as of `as_of`, and a short reason."""
    if registry is None:
        return "unknown", "the registry was not asked"
    if registry.outcome == "not-found":
        return "unregistered", f"{registry.source.upper()} has no such domain"
    record = registry.record
    if not registry.evidence or record is None:
        return "unknown", registry.detail or f"no usable {registry.source.upper()} answer"
    statuses = set(record.statuses)
    expires = record.expires
    # During the redemption grace period EPP shows pendingDelete *and* redemptionPeriod;
    # pendingDelete alone comes after it, in the last days before the name is released.
    if statuses & {"redemption period", "pending restore"}:
        return "redemption", "status redemption period"
    if "pending delete" in statuses:
        return "pending-delete", "status pending delete"
    if "auto renew period" in statuses:
        return "grace", "status auto renew period"
    if expires is not None and expires <= as_of:
        day, ago = expires.date().isoformat(), (as_of - expires).days
        if as_of - expires <= AUTO_RENEW_GRACE:
            return "grace", (f"expired on {day} ({ago} days ago, within the "
                             f"{AUTO_RENEW_GRACE.days}-day auto-renew grace period)")
        return "expired-unknown", (
            f"expired on {day} ({ago} days ago, past the {AUTO_RENEW_GRACE.days}-day grace) "
            "and the registry shows no grace, redemption or pending-delete status")
    if statuses & {"client hold", "server hold"}:
        return "hold", "status " + " and ".join(sorted(statuses & {"client hold", "server hold"}))
    if expires is not None and expires - as_of <= timedelta(days=expiring_days):
        return "expiring", f"expires on {expires.date().isoformat()}"
    return "active", "registered"
