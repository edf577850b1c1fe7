"""Critical projects and the detector for dangerous changes to them.

A project is critical when it is among the most downloaded (the bundled snapshot
config/top-pypi-projects.tsv or a configured export) or listed by an admin. The flag
is sticky: a project never stops being critical because the top list shrank.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from bot.events import EventKind, IndexEvent
from bot.ledger import Ledger, Loss
from bot.names import canonicalize
from bot.store.models import Project
from bot.types import Evidence, Finding, Severity
from detectors.base import Context

_REMOVALS = {
    EventKind.REMOVE_PROJECT: ("project-removed", Severity.CRITICAL),
    EventKind.REMOVE_RELEASE: ("release-removed", Severity.HIGH),
    EventKind.REMOVE_FILE: ("file-removed", Severity.HIGH),
}
MAX_LISTED_FILES = 100


def read_top_list(path: Path, count: int) -> list[str]:
    """The first `count` names of a ranked TSV/CSV (header `name`, rank column optional)."""
    names: list[str] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t" if path.suffix == ".tsv" else ",")
        for row in reader:
            if not row or row[0].strip().lower() == "name":
                continue
            names.append(row[0].strip())
            if len(names) >= count:
                break
    return names


async def mark_critical(
    ledger: Ledger, names: Iterable[str], reason: str, now: datetime
) -> int:
    """Track and flag each project as critical; returns how many were newly flagged."""
    wanted = {canonicalize(n): n for n in names}
    if not wanted:
        return 0
    known = {
        p.normalized_name: p
        for p in (
            await ledger.session.execute(
                select(Project).where(Project.normalized_name.in_(list(wanted)))
            )
        ).scalars()
    }
    added = 0
    for key, name in wanted.items():
        project = known.get(key)
        if project is None:
            project = Project(name=name, normalized_name=key, releases=[])
            ledger.session.add(project)
        if not project.critical:
            project.critical, project.critical_reason, project.critical_since = True, reason, now
            added += 1
        ledger.tracked.add(name)
    await ledger.session.flush()
    return added


def _lost_summary(loss: Loss) -> str:
    megabytes = loss.total_bytes / 1_000_000
    last = loss.last_upload.date().isoformat() if loss.last_upload else "unknown"
    return (
        f"{len(loss.releases)} release(s), {len(loss.files)} file(s), "
        f"{megabytes:.1f} MB, last upload {last}"
    )


class CriticalChangeDetector:
    """Removals of critical projects, releases and files."""

    name = "critical"

    async def on_event(self, event: IndexEvent, ctx: Context) -> list[Finding]:
        rule = _REMOVALS.get(event.kind)
        if rule is None or event.project not in ctx.ledger.tracked:
            return []
        project = await ctx.ledger.project(event.project)
        if project is None or not project.critical:
            return []
        kind, severity = rule
        loss = await ctx.ledger.loss(event)
        what = {
            EventKind.REMOVE_PROJECT: f"project {project.name}",
            EventKind.REMOVE_RELEASE: f"release {project.name} {event.version}",
            EventKind.REMOVE_FILE: f"file {event.filename} of {project.name}",
        }[event.kind]
        evidence = [
            Evidence(
                summary=f"changelog #{event.serial}: {event.raw}",
                serial=event.serial,
                at=event.at.isoformat(),
                url=f"{ctx.settings.index.url}/project/{project.name}/",
                data={"critical_reason": project.critical_reason},
            ),
            Evidence(
                summary=f"lost: {_lost_summary(loss)}",
                serial=event.serial,
                data={
                    "releases": list(loss.releases),
                    "total_bytes": loss.total_bytes,
                    "files": [
                        {"filename": f.filename, "size": f.size, "sha256": f.sha256,
                         "blake2b_256": f.blake2b_256, "path": f.path}
                        for f in loss.files[:MAX_LISTED_FILES]
                    ],
                },
            ),
        ]
        subject = f"project:{project.normalized_name}"
        if event.kind is not EventKind.REMOVE_PROJECT:
            subject += f"@{event.version}"
        return [
            Finding(
                detector=self.name, kind=kind, subject=subject, severity=severity,
                summary=f"Critical {what} was removed ({_lost_summary(loss)})",
                evidence=tuple(evidence), playbooks=("restore",),
            )
        ]

    async def sweep(self, ctx: Context) -> list[Finding]:
        return []
