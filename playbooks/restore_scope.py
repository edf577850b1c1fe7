"""What a restore brings back: the state just before the removal it answers.

The removal answered is the incident's (when the run answers a removal incident of the
project), else the latest removal of what the target names (the project, the release,
the file). From the ledger's history (bot.ledger_history) at that point:

- releases and files present then come back; those removed earlier, on purpose, stay
  removed unless ``include_earlier``; those added later are not part of it;
- the roles are those held then;
- a role or a release that an open incident questions (an ownership change naming the
  account, a takeover chain, a domain incident about its address, an incident about that
  release) is left out unless ``include_questioned``, and the plan names the incident;
- open removal incidents of the releases it re-creates are listed, so the run updates them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.incidents import ACTIVE
from bot.ledger_history import Presence, Removal, changes, last_removal, state_before
from bot.store.models import Account, File, Incident, LedgerChange, Project, Release, Role
from playbooks.base import Target

__all__ = ["REMOVAL_KINDS", "Scope", "scope"]

REMOVAL_KINDS = {"project-removed": "remove_project", "release-removed": "remove_release",
                 "file-removed": "remove_file"}


def _version_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


@dataclass
class Scope:
    chosen: list[tuple[Release, File]] = field(default_factory=list)
    roles: list[tuple[str, str]] = field(default_factory=list)  # (role, username)
    blockers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    as_of: str = ""
    # version -> open removal incidents of that release (updated when it comes back)
    removal_incidents: dict[str, list[int]] = field(default_factory=dict)


def _accounts(incident: Incident) -> set[str]:
    """Accounts an incident's evidence names (critical: names; domains: records)."""
    names: set[str] = set()
    for evidence in incident.evidence:
        data = evidence.get("data") if isinstance(evidence, Mapping) else None
        accounts = data.get("accounts") if isinstance(data, Mapping) else None
        for account in accounts if isinstance(accounts, list) else ():
            name = account.get("username") if isinstance(account, Mapping) else account
            if isinstance(name, str):
                names.add(name)
    return names


def _versions(incident: Incident) -> set[str]:
    found: set[str] = set()
    for evidence in incident.evidence:
        data = evidence.get("data") if isinstance(evidence, Mapping) else None
        versions = data.get("versions") if isinstance(data, Mapping) else None
        found.update(v for v in (versions if isinstance(versions, list) else ())
                     if isinstance(v, str))
    return found


def _label(incident: Incident) -> str:
    summary = incident.summary if len(incident.summary) <= 120 else \
        incident.summary[:119] + "…"
    return f"incident #{incident.id} ({incident.detector} / {incident.kind}: {summary})"


class _Questions:
    """Open incidents that question an account's role on the project or a release."""

    def __init__(self, project: Project, incidents: Iterable[Incident], answered: int | None):
        self.subject = f"project:{project.normalized_name}"
        self.incidents = [i for i in incidents if i.id != answered]

    def _about_project(self, incident: Incident) -> bool:
        return incident.subject == self.subject or \
            incident.subject.startswith(self.subject + "@")

    def role(self, username: str) -> list[Incident]:
        return [i for i in self.incidents if i.kind not in REMOVAL_KINDS and (
            i.subject == f"account:{username}"
            or ((self._about_project(i) or i.subject.startswith("domain:"))
                and username in _accounts(i)))]

    def release(self, version: str) -> list[Incident]:
        return [i for i in self.incidents if i.kind not in REMOVAL_KINDS and (
            i.subject == f"{self.subject}@{version}"
            or (self._about_project(i) and version in _versions(i)))]

    def removals(self, version: str) -> list[int]:
        return [i.id for i in self.incidents if i.kind in ("release-removed", "file-removed")
                and i.subject == f"{self.subject}@{version}"]


async def _open_incidents(session: AsyncSession, project: Project,
                          usernames: Sequence[str]) -> list[Incident]:
    subject = f"project:{project.normalized_name}"
    query = select(Incident).where(
        Incident.status.in_([s.value for s in ACTIVE]),
        or_(Incident.subject == subject, Incident.subject.startswith(subject + "@"),
            Incident.subject.in_([f"account:{u}" for u in usernames]),
            Incident.subject.startswith("domain:")))
    return list((await session.execute(query.order_by(Incident.id))).scalars())


async def _answered(session: AsyncSession, project: Project, history: Sequence[LedgerChange],
                    incident_id: int | None) -> Removal | None:
    """The removal the incident reports, when it is a removal incident of this project."""
    if incident_id is None:
        return None
    incident = await session.get(Incident, incident_id)
    subject = f"project:{project.normalized_name}"
    if incident is None or incident.kind not in REMOVAL_KINDS or not (
            incident.subject == subject or incident.subject.startswith(subject + "@")):
        return None
    serials = {e.get("serial") for e in incident.evidence if isinstance(e, Mapping)}
    rows = [r for r in history if r.serial in serials and r.kind == REMOVAL_KINDS[incident.kind]]
    return Removal.of(rows[-1]) if rows else None


async def scope(session: AsyncSession, project: Project, target: Target,
                options: Mapping[str, Any], incident_id: int | None) -> Scope:
    """What the restore of `target` brings back (`project` with releases and files)."""
    include_earlier = bool(options.get("include_earlier"))
    include_questioned = bool(options.get("include_questioned"))
    found = Scope()
    releases = sorted(project.releases, key=lambda r: _version_key(r.version))
    if target.version is not None:
        releases = [r for r in releases if r.version == target.version]
        if not releases:
            found.blockers.append(f"the ledger has no release {target.version} of {project.name}")
            return found
    if target.filename is not None:
        releases = [r for r in releases if any(f.filename == target.filename for f in r.files)]
        if not releases:
            found.blockers.append(f"the ledger has no file {target.filename} of {project.name}")
            return found
    history = await changes(session, project.id)
    removal = await _answered(session, project, history, incident_id) or last_removal(
        history, version=releases[0].version if target.version or target.filename else None,
        filename=target.filename)
    if target.version is None and target.filename is None and project.removed_at is None:
        found.notes.append(f"the ledger does not show {project.name} as removed, so there is "
                           "nothing to restore at project level (name a release or a file)")
        return found
    roles = [(role, account.username) for role, account in (await session.execute(
        select(Role, Account).join(Account, Role.account_id == Account.id)
        .where(Role.project_id == project.id).order_by(Role.id))).all()]
    state = state_before(project, roles, history, removal.point if removal else None)
    if removal is not None:
        found.as_of = (f"{project.name} as it was {removal.point.describe()}, which "
                       + {"remove_project": "removed the project",
                          "remove_release": f"removed release {removal.version}",
                          "remove_file": "removed the file"}.get(removal.kind, removal.kind))
    questions = _Questions(project, await _open_incidents(session, project, list(state.roles)),
                           incident_id)
    earlier_files = 0
    for release in releases:
        presence = state.releases.get(release.version, Presence.PRESENT)
        if presence is Presence.LATER and target.filename is None:
            continue
        if presence is Presence.REMOVED and target.filename is None and not include_earlier:
            why = state.removed.get(f"v:{release.version}")
            opened = questions.removals(release.version)
            found.notes.append(
                f"release {release.version} stays removed: "
                + (why.describe() if why else "removed") + " before this removal"
                + (f"; its removal incident #{opened[0]} is open" if opened else "")
                + " (--include-earlier restores it too)")
            continue
        asked = questions.release(release.version)
        if asked and not include_questioned:
            found.notes.append(f"release {release.version} left out: questioned by "
                               + "; ".join(_label(i) for i in asked)
                               + " (--include-questioned restores it)")
            continue
        for file in release.files:
            if target.filename is not None:
                if file.filename == target.filename:
                    found.chosen.append((release, file))
                continue
            file_presence = state.files.get(file.filename, Presence.PRESENT)
            if file_presence is Presence.LATER:
                continue
            if file_presence is Presence.REMOVED and presence is not Presence.REMOVED \
                    and not include_earlier:
                earlier_files += 1  # removed on purpose before this removal: stays removed
                continue
            found.chosen.append((release, file))
        found.removal_incidents[release.version] = questions.removals(release.version)
    if earlier_files:
        found.notes.append(f"{earlier_files} file(s) removed before this removal stay removed "
                           "(--include-earlier restores them too)")
    for username, role in sorted(state.roles.items()):
        asked = questions.role(username)
        if asked and not include_questioned:
            found.notes.append(f"role {role} of {username} left out: questioned by "
                               + "; ".join(_label(i) for i in asked)
                               + " (--include-questioned restores it)")
        else:
            found.roles.append((role, username))
    return found
