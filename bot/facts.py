"""What the index says about a project now (its JSON API), as the ledger records it.

Shared by the feed (which reads it), the ledger (which keeps it) and the critical set
(which backfills it): a base-layer type, so the ledger needs nothing from the feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["FileFacts", "ProjectFacts"]


@dataclass(frozen=True, slots=True)
class FileFacts:
    filename: str
    version: str
    packagetype: str | None
    python_version: str | None
    requires_python: str | None
    size: int
    sha256: str
    blake2b_256: str
    md5: str | None
    upload_time: datetime | None
    url: str
    yanked: bool
    yanked_reason: str | None

    @property
    def path(self) -> str:
        """Where PyPI keeps the blob: packages/<b2[:2]>/<b2[2:4]>/<b2[4:]>/<filename>."""
        b2 = self.blake2b_256
        return f"packages/{b2[:2]}/{b2[2:4]}/{b2[4:]}/{self.filename}"


@dataclass(frozen=True, slots=True)
class ProjectFacts:
    name: str
    last_serial: int
    releases: dict[str, list[FileFacts]]
    requires_dist: list[str]
    roles: list[tuple[str, str]]  # (role, user) from the JSON API's "ownership"
    # The latest release's declared contacts (info.author_email / maintainer_email): the
    # domain sweep's fallback where it cannot read the index's accounts (issue 18).
    author_email: str | None = None
    maintainer_email: str | None = None
