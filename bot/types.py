"""Types shared across the data flow: severities, evidence and findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One fact behind a finding: what was seen, and where it can be checked."""

    summary: str
    serial: int | None = None
    at: str | None = None  # ISO 8601 timestamp of the underlying event or observation
    url: str | None = None
    data: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "summary": self.summary,
            "serial": self.serial,
            "at": self.at,
            "url": self.url,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """What a detector says about one subject. No I/O beyond the store made it."""

    detector: str
    kind: str
    subject: str  # "project:requests", "account:alice", "domain:example.org"
    severity: Severity
    summary: str
    evidence: tuple[Evidence, ...] = ()
    playbooks: tuple[str, ...] = ()
    # Findings of one group about one subject share an incident whatever their kind
    # (a domain that is parked, then re-registered, then expired is one incident).
    group: str | None = None

    def dedup_key(self) -> str:
        return f"{self.detector}/{self.group or self.kind}/{self.subject}"
