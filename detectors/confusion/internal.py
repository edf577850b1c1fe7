"""The deletion of an internal package on a followed devpi index is critical.

Runs on the devpi feed's events (after its ledger applied them): a removed project,
release or file is an incident listing the files lost, with their digests and whether
the feed kept a copy; ``restore`` (the one playbook devpi can run for it) brings them
back from storage through devpi's upload API, digests checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from bot.events import EventKind, IndexEvent
from bot.names import canonicalize
from bot.store.devpi_models import DevpiFile
from bot.types import Evidence, Finding, Severity
from detectors.base import Context, NoSharedWork

__all__ = ["DEVPI_PLAYBOOKS", "InternalDeletionDetector"]

_REMOVALS = {EventKind.REMOVE_PROJECT: "project-removed",
             EventKind.REMOVE_RELEASE: "release-removed",
             EventKind.REMOVE_FILE: "file-removed"}
# What the devpi backend can run for it: it refuses yank, quarantine, unverify-email
# and remove-malware (playbooks/index_admin/devpi.py), so those are never offered.
DEVPI_PLAYBOOKS = ("restore",)


class InternalDeletionDetector(NoSharedWork):
    name = "internal"

    def __init__(self, followed: Sequence[str] = ()) -> None:
        self.followed = tuple(followed)

    async def sweep(self, ctx: Context) -> list[Finding]:
        return []

    async def on_event(self, event: IndexEvent, ctx: Context) -> list[Finding]:
        kind = _REMOVALS.get(event.kind)
        if kind is None or (self.followed and event.index not in self.followed):
            return []
        # The devpi ledger has already applied the removal: what it took away is what
        # was removed at this serial.
        query = select(DevpiFile).where(DevpiFile.index == event.index,
                                        DevpiFile.project == canonicalize(event.project),
                                        DevpiFile.removed_serial == event.serial)
        if event.version is not None:
            query = query.where(DevpiFile.version == event.version)
        if event.filename is not None:
            query = query.where(DevpiFile.filename == event.filename)
        lost = list((await ctx.session.execute(query)).scalars())
        what = {"project-removed": f"project {event.project}",
                "release-removed": f"release {event.project} {event.version}",
                "file-removed": f"file {event.filename} of {event.project}"}[kind]
        kept = sum(1 for f in lost if f.blob_path)
        # A subject playbooks understand (project:name@version); the index is in the text.
        subject = f"project:{canonicalize(event.project)}"
        if kind != "project-removed":
            subject += f"@{event.version}"
        return [Finding(
            detector=self.name, kind=kind, subject=subject, severity=Severity.CRITICAL,
            summary=(f"Internal {what} was removed from {event.index} ({len(lost)} file(s), "
                     f"{kept} kept in storage)"),
            evidence=(
                Evidence(summary=f"devpi changelog serial {event.serial}: {event.raw[:300]}",
                         serial=event.serial, at=event.at.isoformat(),
                         data={"index": event.index}),
                Evidence(summary=f"lost: {len(lost)} file(s)", data={"files": [
                    {"filename": f.filename, "version": f.version, "size": f.size,
                     "sha256": f.sha256, "blake2b_256": f.blake2b_256, "path": f.blob_path}
                    for f in lost[:50]]})),
            playbooks=DEVPI_PLAYBOOKS)]
