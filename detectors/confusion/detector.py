"""Dependency confusion: a public project named like an internal package is critical.

The names of every live project on the followed private devpi indexes are protected
(kept by the devpi feed in ``devpi_projects``). A project created on PyPI (the PyPI
feed's ``create`` event) with the same PEP 503 name, or one that imitates it
(bot.names.likeness: separators, look-alike characters, affixes, one edit), is a
critical incident naming the internal package, its owners (the index owner and its
``acl_upload``) and which devpi indexes inherit from PyPI, with whether devpi would
serve PyPI's files there (detectors.confusion.exposure).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import EventKind, IndexEvent
from bot.names import LikenessIndex, canonicalize
from bot.store.devpi_models import DevpiIndex, DevpiProject
from bot.types import Evidence, Finding, Severity
from detectors.base import Context, NoSharedWork
from detectors.confusion.exposure import Exposure, exposures

__all__ = ["ConfusionDetector", "Match", "confusion_finding", "find_matches", "internal_indexes",
           "internal_names"]



@dataclass(frozen=True, slots=True)
class Match:
    public: str
    internal: str  # the internal project's name
    technique: str
    indexes: tuple[str, ...]  # the private indexes that hold it
    owners: tuple[str, ...]
    exposures: tuple[Exposure, ...]


async def internal_indexes(session: AsyncSession) -> dict[str, DevpiIndex]:
    return {i.name: i for i in (await session.execute(select(DevpiIndex))).scalars()}


async def internal_names(session: AsyncSession, followed: Collection[str]
                         ) -> dict[str, list[DevpiProject]]:
    """{normalized name: live projects} on the followed private indexes."""
    query = select(DevpiProject).where(DevpiProject.removed_at.is_(None))
    if followed:
        query = query.where(DevpiProject.index.in_(list(followed)))
    found: dict[str, list[DevpiProject]] = {}
    for project in (await session.execute(query)).scalars():
        found.setdefault(project.normalized_name, []).append(project)
    return found


def find_matches(public: str, internal: dict[str, list[DevpiProject]],
                 indexes: dict[str, DevpiIndex], names: LikenessIndex | None = None
                 ) -> list[Match]:
    """Every internal package `public` is or imitates (the same name first); `names` is
    the LikenessIndex of `internal` when the caller keeps one."""
    name = canonicalize(public)
    names = names if names is not None else LikenessIndex(internal)
    matches: list[Match] = []
    for target, technique in names.matches(name):
        projects = internal[target]
        held = tuple(sorted({p.index for p in projects}))
        owners: set[str] = set()
        for index in held:
            row = indexes.get(index)
            if row is not None:
                owners |= {row.owner, *(row.acl_upload or ())}
        private = held if technique == "same-name" else ()
        matches.append(Match(public, projects[0].name, technique, held, tuple(sorted(owners)),
                             tuple(exposures(name, private, indexes))))
    return matches


def confusion_finding(match: Match, event: IndexEvent | None = None,
                      playbooks: Sequence[str] = ()) -> Finding:
    served = [e for e in match.exposures if e.served]
    shielded = [e for e in match.exposures if not e.served]
    how = ("has the same name as" if match.technique == "same-name"
           else f"imitates ({match.technique})")
    exposed = (f"devpi indexes inheriting from PyPI that would serve it: "
               f"{', '.join(e.index for e in served)}" if served else
               "no devpi index would serve it (clients that also install from PyPI "
               "directly, e.g. pip --extra-index-url, are still exposed)")
    evidence = [Evidence(
        summary=f"internal package {match.internal} on {', '.join(match.indexes)}, owners "
                f"{', '.join(match.owners) or 'unknown'}",
        data={"internal": match.internal, "indexes": list(match.indexes),
              "owners": list(match.owners), "technique": match.technique})]
    evidence += [Evidence(summary=f"{e.index} (via {e.mirror}): {e.why}",
                          data={"index": e.index, "mirror": e.mirror, "served": e.served})
                 for e in (*served, *shielded)]
    if event is not None:
        evidence.insert(0, Evidence(summary=f"created on PyPI: {event.project}",
                                    serial=event.serial, at=event.at.isoformat(),
                                    url=f"https://pypi.org/project/{canonicalize(event.project)}/"))
    return Finding(
        detector=ConfusionDetector.name, kind="dependency-confusion",
        subject=f"project:{canonicalize(match.public)}", severity=Severity.CRITICAL,
        summary=(f"Public project {match.public} {how} internal package {match.internal} "
                 f"({', '.join(match.indexes)}; owners {', '.join(match.owners) or 'unknown'})"
                 f"; {exposed}"),
        evidence=tuple(evidence), playbooks=tuple(playbooks))


class ConfusionDetector(NoSharedWork):
    name = "confusion"

    def __init__(self, followed: Sequence[str] = (), playbooks: Sequence[str] = ()) -> None:
        self.followed = tuple(followed)
        self.playbooks = tuple(playbooks)  # what the configured backend can do about it

    async def on_event(self, event: IndexEvent, ctx: Context) -> list[Finding]:
        if event.index is not None or event.kind is not EventKind.CREATE:
            return []
        return await self.check(ctx.session, event.project, event)

    async def check(self, session: AsyncSession, public: str,
                    event: IndexEvent | None = None) -> list[Finding]:
        internal = await internal_names(session, self.followed)
        if not internal:
            return []
        matches = find_matches(public, internal, await internal_indexes(session))
        return [confusion_finding(m, event, self.playbooks) for m in matches[:1]]

    async def sweep(self, ctx: Context) -> list[Finding]:
        return []
