"""The IndexAdmin protocol: what a playbook may read from and change on an index.

One backend per kind of index (``warehouse``: a Warehouse database; ``devpi``: a
devpi-server over REST). Every change is idempotent: it checks the index and changes
it in one transaction (or one request) and returns False when the index already was
as asked, so a resumed playbook never applies a step twice. A backend that cannot do
an action at all says why in ``unsupported(action)`` and raises ``Unsupported``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from playbooks.base import StepFailed

__all__ = [
    "ACTIONS",
    "DomainUse",
    "FileSpec",
    "IndexAccount",
    "IndexAdmin",
    "IndexConflict",
    "IndexEmail",
    "IndexFile",
    "IndexProject",
    "IndexRelease",
    "MalwareReport",
    "ProjectSpec",
    "ReleaseSpec",
]

# The actions a backend may refuse in ``unsupported()``.
ACTIONS = ("restore", "yank", "freeze", "prohibit-password-reset", "unverify-email",
           "quarantine", "quarantine-release", "prohibit-email-domain", "remove-malware")


class IndexConflict(StepFailed):
    """The index holds something else under the same name (e.g. a file with other bytes)."""


@dataclass(frozen=True, slots=True)
class IndexFile:
    filename: str
    sha256: str
    blake2b_256: str | None = None  # devpi records sha256 only
    size: int | None = None


@dataclass(frozen=True, slots=True)
class IndexRelease:
    version: str
    yanked: bool = False
    yanked_reason: str = ""
    files: dict[str, IndexFile] = field(default_factory=dict)
    quarantined: bool = False  # Warehouse: releases.lifecycle_status quarantine-enter


@dataclass(frozen=True, slots=True)
class IndexProject:
    name: str
    quarantined: bool = False
    releases: dict[str, IndexRelease] = field(default_factory=dict)
    users: tuple[str, ...] = ()  # accounts with a role (Warehouse), frozen with a quarantine

    def file(self, filename: str) -> IndexFile | None:
        for release in self.releases.values():
            if filename in release.files:
                return release.files[filename]
        return None


@dataclass(frozen=True, slots=True)
class IndexEmail:
    email: str
    verified: bool
    primary: bool = False
    unverify_reason: str | None = None


@dataclass(frozen=True, slots=True)
class IndexAccount:
    username: str
    frozen: bool | None  # None: this index has no such flag (devpi)
    password_reset_prohibited: bool | None
    emails: tuple[IndexEmail, ...] = ()
    upload_indexes: tuple[str, ...] = ()  # devpi: indexes whose acl_upload names the user


@dataclass(frozen=True, slots=True)
class DomainUse:
    """An email domain as a freeze sees it: already prohibited, and who else uses it."""

    domain: str
    prohibited: bool
    # Other active, unfrozen accounts with a verified address at this domain: a shared
    # mail provider, which a freeze does not prohibit unless asked explicitly.
    shared_with: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MalwareReport:
    """A malware report on a project (Warehouse: a ``project_observations`` row)."""

    id: str
    summary: str
    verdicts: tuple[str, ...]  # the actions already recorded on it ("remove_malware", ...)
    inspector_url: str = ""


@dataclass(frozen=True, slots=True)
class ProjectSpec:
    """A project to re-create, from the ledger."""

    name: str
    created: datetime | None
    roles: tuple[tuple[str, str], ...] = ()  # (role, username)


@dataclass(frozen=True, slots=True)
class ReleaseSpec:
    version: str
    created: datetime | None
    requires_python: str | None = None
    requires_dist: tuple[str, ...] = ()
    yanked: bool = False
    yanked_reason: str = ""


@dataclass(frozen=True, slots=True)
class FileSpec:
    """A file to re-create; the blob handed with it was checked against these digests."""

    filename: str
    version: str
    size: int
    sha256: str
    blake2b_256: str
    md5: str
    packagetype: str | None = None
    python_version: str | None = None
    requires_python: str | None = None
    upload_time: datetime | None = None


class IndexAdmin(Protocol):
    kind: str

    def unsupported(self, action: str) -> str | None:
        """Why this backend cannot do ``action`` (one of ACTIONS), or None."""
        ...

    async def project(self, name: str) -> IndexProject | None: ...

    async def account(self, username: str) -> IndexAccount | None: ...

    async def email_owner(self, email: str) -> IndexAccount | None: ...

    async def create_project(self, spec: ProjectSpec, actor: str) -> bool: ...

    async def create_release(self, project: str, spec: ReleaseSpec, actor: str) -> bool: ...

    async def add_file(self, project: str, spec: FileSpec, blob: bytes, actor: str) -> bool: ...

    async def fetch_file(self, project: str, version: str, filename: str) -> bytes | None:
        """The file's content as the index serves it (for verification)."""
        ...

    async def set_yanked(self, project: str, version: str, yanked: bool, reason: str,
                         actor: str) -> bool: ...

    async def set_frozen(self, username: str, frozen: bool, actor: str,
                         indexes: Sequence[str] = ()) -> bool: ...

    async def set_password_reset_prohibited(self, username: str, prohibited: bool,
                                            actor: str) -> bool: ...

    async def unverify_email(self, email: str, actor: str, reason: str = "") -> bool: ...

    async def set_quarantined(self, project: str, quarantined: bool, actor: str) -> bool: ...

    async def set_release_quarantined(self, project: str, version: str, quarantined: bool,
                                      actor: str) -> bool: ...

    # -- who a change is recorded as -------------------------------------------------

    async def author_problem(self, actor: str) -> str | None:
        """Why the index cannot record a change as made by ``actor``, or None."""
        ...

    # -- email domains (a freeze prohibits the account's verified domains) ----------------

    async def email_domain(self, domain: str, account: str) -> DomainUse: ...

    async def prohibit_email_domain(self, domain: str, actor: str, comment: str) -> bool: ...

    # -- remove as malware ---------------------------------------------------------------

    async def malware_reports(self, project: str) -> tuple[MalwareReport, ...]: ...

    async def project_name_prohibited(self, name: str) -> str | None:
        """The prohibition of ``name`` (its comment and kind) if there is one."""
        ...

    async def freeze_for_malware(self, username: str, project: str, actor: str) -> bool: ...

    async def record_malware_verdict(self, project: str, verdict: str, actor: str,
                                     report_ids: Sequence[str], extra: dict[str, object]
                                     ) -> bool: ...

    async def prohibit_project_name(self, name: str, actor: str,
                                    observation_kind: str | None) -> bool: ...

    async def allow_project_name(self, name: str, actor: str) -> bool: ...

    async def remove_project(self, project: str, actor: str) -> bool: ...

    async def remove_release(self, project: str, version: str, actor: str,
                             reason: str) -> bool: ...

    async def close(self) -> None: ...
