"""What the reports source gathers about one reported project, for ``assess``.

Plain frozen data, read from the index's database (reports, project, releases, accounts),
the bot's ledger (files and digests) and the typosquat detector (the name's verdict). All
times are aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from detectors.reports import verdicts

__all__ = ["Account", "Dossier", "FileFact", "Observer", "ProjectState", "ReleaseFact",
           "Report", "TypoVerdict"]


@dataclass(frozen=True, slots=True)
class Observer:
    """Who filed a report, and their track record as Warehouse counts it (every
    ``is_malware`` report they filed, classified by ``verdicts.classify``)."""

    id: str
    username: str | None  # None: an observer that is no user account
    trusted: bool  # users.is_observer
    confirmed: int = 0
    false_positives: int = 0
    pending: int = 0

    @property
    def name(self) -> str:
        return self.username or f"observer {self.id[:8]}"

    @property
    def accuracy(self) -> float | None:
        return verdicts.accuracy(self.confirmed, self.false_positives)

    def record(self) -> str:
        shown = f"{self.confirmed} confirmed, {self.false_positives} false positive(s), " \
                f"{self.pending} pending"
        return shown + (f" ({self.accuracy:g}% accurate)" if self.accuracy is not None else "")


@dataclass(frozen=True, slots=True)
class Report:
    """One ``is_malware`` observation (``project_observations``, or
    ``release_observations`` for a report on one release)."""

    id: str
    table: str  # "project" | "release"
    project: str  # the project's name (from the row, or its related_name once it is gone)
    version: str | None  # a release report's version
    created: datetime
    observer: Observer
    summary: str
    inspector_url: str | None  # only an http(s) URL that cannot break out of a link
    origin: str | None  # "api", "web", "admin"...
    actions: dict[str, Any] = field(default_factory=dict)
    related_exists: bool = True

    @property
    def open(self) -> bool:
        """Undecided: Warehouse's list shows it (``actions == {}``)."""
        return not self.actions

    @property
    def decision(self) -> verdicts.Entry | None:
        return verdicts.decision(self.actions)


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    joined: datetime | None
    frozen: bool
    role: str | None  # on the project; None for an uploader without a role
    releases: int = 0  # releases of the project it uploaded


@dataclass(frozen=True, slots=True)
class FileFact:
    filename: str
    size: int
    sha256: str
    uploaded: datetime | None


@dataclass(frozen=True, slots=True)
class ReleaseFact:
    version: str
    created: datetime | None
    uploader: str | None
    quarantined: bool = False
    yanked: bool = False
    files: tuple[FileFact, ...] = ()


@dataclass(frozen=True, slots=True)
class ProjectState:
    name: str
    exists: bool
    created: datetime | None = None
    quarantined: bool = False
    # Who quarantined it last and when (Warehouse's auto-quarantine acts as "admin").
    quarantined_by: str | None = None
    quarantined_at: datetime | None = None
    removed_at: datetime | None = None  # the last "remove project" journal, if gone
    removed_by: str | None = None
    prohibited: str | None = None  # the prohibition's observation_kind ("" if none)
    releases: tuple[ReleaseFact, ...] = ()
    accounts: tuple[Account, ...] = ()

    @property
    def first_upload(self) -> datetime | None:
        times = [r.created for r in self.releases if r.created]
        return min(times) if times else None

    @property
    def last_upload(self) -> datetime | None:
        times = [t for r in self.releases for t in (r.created, *(f.uploaded for f in r.files))
                 if t is not None]
        return max(times) if times else None


@dataclass(frozen=True, slots=True)
class TypoVerdict:
    target: str
    technique: str
    score: float
    explanation: str


@dataclass(frozen=True, slots=True)
class Dossier:
    project: ProjectState
    reports: tuple[Report, ...]  # every is_malware report on the project, oldest first
    typo: TypoVerdict | None = None
    service_account: str = "admin"  # the account Warehouse's own tasks act as

    @property
    def open_reports(self) -> tuple[Report, ...]:
        return tuple(r for r in self.reports if r.open)

    @property
    def auto_quarantined(self) -> bool:
        """Quarantined by Warehouse's evaluate_project_for_quarantine (it acts as the
        service account, which is how Warehouse's own statistics tell it apart)."""
        p = self.project
        return p.quarantined and p.quarantined_by == self.service_account
