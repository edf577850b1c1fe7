"""The critical-change detector: dangerous things happening to critical projects.

Removals (project, release, file) with what the ledger says was lost; yanks of the
latest or of every release; ownership changes (a new Owner/Maintainer, all previous
owners removed, a release soon after a new maintainer arrived — escalating the same
incident); quarantines the bot did not start; and the ctx chain: an account with an
open domain incident that gains a role or releases anywhere.
"""

from __future__ import annotations

from datetime import timedelta

from packaging.version import InvalidVersion, Version
from sqlalchemy import select

from bot.events import EventKind, IndexEvent
from bot.ledger import Loss
from bot.store.models import AuditEntry, Incident, Project, Release
from bot.types import Evidence, Finding, Severity
from bot.units import human_size
from detectors.base import Context, NoSharedWork
from detectors.critical_settings import CriticalSection

DEFAULT_SEVERITY = {
    "project-removed": Severity.CRITICAL,
    "release-removed": Severity.HIGH,
    "file-removed": Severity.HIGH,
    "release-yanked": Severity.HIGH,
    "ownership-change": Severity.HIGH,
    "new-maintainer-release": Severity.CRITICAL,
    "takeover-chain": Severity.CRITICAL,
    "quarantined": Severity.INFO,
}
_REMOVALS = {
    EventKind.REMOVE_PROJECT: "project-removed",
    EventKind.REMOVE_RELEASE: "release-removed",
    EventKind.REMOVE_FILE: "file-removed",
}
_MAINTAINER_ROLES = {"Owner", "Maintainer"}
MAX_LISTED_FILES = 100


def _version_key(release: Release) -> tuple[int, Version | str]:
    try:
        return (1, Version(release.version))
    except InvalidVersion:
        return (0, release.version)


def lost_summary(loss: Loss) -> str:
    last = loss.last_upload.date().isoformat() if loss.last_upload else "unknown"
    return (f"{len(loss.releases)} release(s), {len(loss.files)} file(s), "
            f"{human_size(loss.total_bytes)}, last upload {last}")


class CriticalChangeDetector(NoSharedWork):
    name = "critical"

    def __init__(self, cfg: CriticalSection | None = None,
                 index_url: str = "https://pypi.org") -> None:
        self.cfg = cfg or CriticalSection()
        self.index_url = index_url.rstrip("/")

    async def on_event(self, event: IndexEvent, ctx: Context) -> list[Finding]:
        findings = await self._takeover_chain(event, ctx)
        if event.project not in ctx.ledger.tracked:
            return findings
        project = await ctx.ledger.project(event.project)
        if project is None or not project.critical:
            return findings
        if event.kind in _REMOVALS:
            findings.append(await self._removal(event, project, ctx))
        elif event.kind is EventKind.YANK:
            findings += await self._yank(event, project, ctx)
        elif event.kind in (EventKind.ROLE_ADD, EventKind.ROLE_ACCEPT):
            findings += await self._role_added(event, project, ctx)
        elif event.kind in (EventKind.ROLE_REMOVE, EventKind.ROLE_CHANGE):
            findings += await self._owners_gone(event, project, ctx)
        elif event.kind is EventKind.NEW_RELEASE:
            findings += await self._release_by_newcomer(event, project, ctx)
        elif event.kind is EventKind.QUARANTINE_PROJECT and not await self._ours(event, ctx):
            findings.append(self._finding(ctx, project, "quarantined",
                            f"Critical project {project.name} was quarantined",
                            [self._event_evidence(event, project, ctx)], ("unquarantine",)))
        return findings

    async def sweep(self, ctx: Context) -> list[Finding]:
        return []

    def _severity(self, ctx: Context, kind: str) -> Severity:
        configured = self.cfg.severity.get(kind)
        return Severity(configured) if configured else DEFAULT_SEVERITY[kind]

    def _event_evidence(self, event: IndexEvent, project: Project, ctx: Context) -> Evidence:
        base = self.index_url
        return Evidence(
            summary=f"changelog #{event.serial} {event.at.isoformat()}: {event.raw}"
                    + (f" ({event.version})" if event.version else ""),
            serial=event.serial, at=event.at.isoformat(), url=f"{base}/project/{project.name}/",
            data={"admin_url": f"{base}/admin/projects/{project.normalized_name}/",
                  "critical_reason": project.critical_reason},
        )

    def _finding(self, ctx: Context, project: Project, kind: str, summary: str,
                 evidence: list[Evidence], playbooks: tuple[str, ...], *,
                 severity_kind: str | None = None, subject: str | None = None) -> Finding:
        return Finding(
            detector=self.name, kind=kind, subject=subject or f"project:{project.normalized_name}",
            severity=self._severity(ctx, severity_kind or kind), summary=summary,
            evidence=tuple(evidence), playbooks=playbooks,
        )

    async def _removal(self, event: IndexEvent, project: Project, ctx: Context) -> Finding:
        kind = _REMOVALS[event.kind]
        loss = await ctx.ledger.loss(event)
        what = {
            EventKind.REMOVE_PROJECT: f"project {project.name}",
            EventKind.REMOVE_RELEASE: f"release {project.name} {event.version}",
            EventKind.REMOVE_FILE: f"file {event.filename} of {project.name}",
        }[event.kind]
        lost = Evidence(
            summary=f"lost: {lost_summary(loss)}", serial=event.serial,
            data={"releases": list(loss.releases), "total_bytes": loss.total_bytes,
                  "last_upload": loss.last_upload.isoformat() if loss.last_upload else None,
                  "files": [{"filename": f.filename, "size": f.size, "sha256": f.sha256,
                             "blake2b_256": f.blake2b_256, "path": f.path}
                            for f in loss.files[:MAX_LISTED_FILES]]},
        )
        subject = f"project:{project.normalized_name}"
        if event.kind is not EventKind.REMOVE_PROJECT:
            subject += f"@{event.version}"
        return self._finding(ctx, project, kind,
                             f"Critical {what} was removed ({lost_summary(loss)})",
                             [self._event_evidence(event, project, ctx), lost], ("restore",),
                             subject=subject)

    async def _yank(self, event: IndexEvent, project: Project, ctx: Context) -> list[Finding]:
        project = await ctx.ledger.project(project.name, with_files=True) or project
        live = [r for r in project.releases if r.removed_at is None]
        if not live:
            return []
        latest = max(live, key=_version_key)
        others_yanked = all(r.yanked for r in live if r.version != event.version)
        if others_yanked and len(live) > 1:
            what = f"every release of {project.name} is now yanked ({len(live)})"
        elif latest.version == event.version:
            what = f"the latest release of {project.name} ({event.version}) was yanked"
        else:
            return []
        return [self._finding(ctx, project, "release-yanked", what.capitalize(),
                              [self._event_evidence(event, project, ctx)], ("unyank", "freeze"))]

    async def _role_added(self, event: IndexEvent, project: Project, ctx: Context) -> list[Finding]:
        if event.role not in _MAINTAINER_ROLES or not event.user:
            return []
        active = [(r, a) for r, a in await ctx.ledger.roles(project.name) if r.removed_at is None]
        if not active or any(a.username == event.user for _, a in active):
            return []  # the project's first owner, or someone already on it
        evidence = self._event_evidence(event, project, ctx)
        accounts = Evidence(summary=f"new {event.role}: {event.user}", serial=event.serial,
                            data={"accounts": [event.user]})
        return [self._finding(
            ctx, project, "ownership-change",
            f"{event.user} was added as {event.role} of critical project {project.name}",
            [evidence, accounts], ("freeze",),
        )]

    async def _owners_gone(self, event: IndexEvent, project: Project, ctx: Context) -> list[Finding]:
        if not event.user:
            return []
        roles = await ctx.ledger.roles(project.name)
        window = timedelta(hours=self.cfg.new_maintainer_hours)
        owners = [(r, a) for r, a in roles if r.role == "Owner" and r.removed_at is None]
        leaving = any(a.username == event.user for _, a in owners)
        if not leaving or (event.kind is EventKind.ROLE_CHANGE and event.role == "Owner"):
            return []
        remaining = [(r, a) for r, a in owners if a.username != event.user]
        established = [a.username for r, a in remaining
                       if r.added_at is None or event.at - r.added_at > window]
        if established:
            return []
        newcomers = ", ".join(a.username for _, a in remaining) or "nobody"
        accounts = Evidence(summary=f"owners now: {newcomers}", serial=event.serial,
                            data={"accounts": [a.username for _, a in remaining]})
        return [self._finding(
            ctx, project, "ownership-change",
            f"All previous owners of critical project {project.name} are gone; "
            f"owners now: {newcomers}",
            [self._event_evidence(event, project, ctx), accounts], ("freeze",),
        )]

    async def _release_by_newcomer(
        self, event: IndexEvent, project: Project, ctx: Context
    ) -> list[Finding]:
        window = timedelta(hours=self.cfg.new_maintainer_hours)
        roles = await ctx.ledger.roles(project.name)
        # The project's first role holder (its creator) is not a newcomer to it.
        founder = min(roles, key=lambda ra: (ra[0].added_serial is not None,
                                             ra[0].added_serial or 0), default=None)
        newcomers = [(r, a) for r, a in roles
                     if (r, a) != founder and r.removed_at is None and r.role in _MAINTAINER_ROLES
                     and r.added_at is not None and timedelta(0) <= event.at - r.added_at <= window
                     and r.added_serial is not None]
        if not newcomers:
            return []
        names = ", ".join(a.username for _, a in newcomers)
        hours = min((event.at - r.added_at).total_seconds() / 3600
                    for r, _ in newcomers if r.added_at is not None)
        evidence = [self._event_evidence(event, project, ctx), Evidence(
            summary=f"{names} gained a role {hours:.1f} h before this release; the changelog "
                    "does not name the uploader",
            data={"accounts": [a.username for _, a in newcomers]},
        )]
        return [self._finding(
            ctx, project, "ownership-change",
            f"Release {event.version} of critical project {project.name} within "
            f"{hours:.0f} h of {names} being added",
            evidence, ("yank", "freeze"), severity_kind="new-maintainer-release",
        )]

    async def _takeover_chain(self, event: IndexEvent, ctx: Context) -> list[Finding]:
        """An account under a domain incident gains a role or releases (the ctx pattern)."""
        if event.kind in (EventKind.ROLE_ADD, EventKind.ROLE_ACCEPT) and event.user:
            accounts = [event.user]
        elif event.kind is EventKind.NEW_RELEASE and event.project in ctx.ledger.tracked:
            accounts = [a.username for r, a in await ctx.ledger.roles(event.project)
                        if r.removed_at is None]
        else:
            return []
        if not accounts:
            return []
        open_domain = (await ctx.session.execute(
            select(Incident).where(
                Incident.open_key.is_not(None), Incident.detector == "domains",
                Incident.subject.in_([f"account:{a}" for a in accounts]),
            )
        )).scalars().all()
        findings = []
        for incident in open_domain:
            account = incident.subject.removeprefix("account:")
            findings.append(Finding(
                detector=self.name, kind="takeover-chain", subject=incident.subject,
                severity=self._severity(ctx, "takeover-chain"),
                summary=f"{account}, whose email domain is under incident #{incident.id}, "
                        f"acted on {event.project}: {event.raw}",
                evidence=(
                    Evidence(summary=f"domain incident #{incident.id}: {incident.summary}",
                             data={"incident_id": incident.id}),
                    Evidence(summary=f"changelog #{event.serial} {event.at.isoformat()}: "
                                     f"{event.project} {event.raw}",
                             serial=event.serial, at=event.at.isoformat(),
                             url=f"{self.index_url}/project/{event.project}/"),
                ),
                playbooks=("freeze", "unverify-email", "yank"),
            ))
        return findings

    async def _ours(self, event: IndexEvent, ctx: Context) -> bool:
        """Did one of our own playbooks quarantine this project in the last hour?"""
        since = event.at - timedelta(hours=1)
        row = (await ctx.session.execute(
            select(AuditEntry.id).where(
                AuditEntry.action.like("%quarantine%"), AuditEntry.outcome == "done",
                AuditEntry.target.like(f"%{event.project}%"), AuditEntry.at >= since,
            ).limit(1)
        )).first()
        return row is not None
