"""Keeping the critical set: recompute, ledger backfill, and admins' additions/removals.

The recompute gathers reasons from the download table, the stack's dependency closure
and the admins' list, then records them in one transaction (sticky: it only adds).
Backfill then reads the JSON API for every critical project the ledger has not synced,
so a restore never depends on the index still having the metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.facts import ProjectFacts
from bot.feed.pypi import PyPIFeed, RejectedDocument
from bot.ledger import Ledger, TrackedProjects
from bot.names import canonicalize
from bot.store.models import CriticalMark, Project
from detectors.critical_set import (
    Closure,
    apply_marks,
    dependency_closure,
    load_downloads,
    top_count,
)

log = structlog.get_logger(__name__)
Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(slots=True)
class RecomputeReport:
    top: int = 0
    dependencies: int = 0
    missing: list[str] = field(default_factory=list)
    manual: int = 0
    added: list[str] = field(default_factory=list)
    kept_removed: list[str] = field(default_factory=list)
    backfilled: int = 0
    truncated: bool = False


async def gather_marks(
    settings: Settings, feed: PyPIFeed | None, report: RecomputeReport
) -> dict[str, tuple[str, str, str]]:
    """{canonical name: (name, source, detail)} from every source; later sources win."""
    cfg = settings.critical
    marks: dict[str, tuple[str, str, str]] = {}
    table = load_downloads(Path(cfg.downloads) if cfg.downloads else None)
    count = top_count(cfg.top, table, cfg.total_projects)
    for rank, name in enumerate(table.ranked[:count], start=1):
        marks[canonicalize(name)] = (name, "downloads", f"rank {rank} of top {count}")
    report.top = count
    if cfg.stack and feed is not None:
        async def requires(name: str) -> list[str] | None:
            facts = await _facts(feed, name)
            return None if facts is None else facts.requires_dist

        closure: Closure = await dependency_closure(cfg.stack, requires, cfg.dependency_limit)
        for key, path in closure.via.items():
            if key not in closure.missing:
                marks[key] = (key, "dependency", "stack: " + " -> ".join(path))
        report.dependencies = len(closure.via) - len(closure.missing)
        report.missing, report.truncated = closure.missing, closure.truncated
    for name in cfg.projects:
        marks[canonicalize(name)] = (name, "manual", "listed in config critical.projects")
    report.manual = len(cfg.projects)
    return marks


async def recompute(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    tracked: TrackedProjects,
    feed: PyPIFeed | None,
    *,
    backfill: bool = True,
    progress: Progress | None = None,
) -> RecomputeReport:
    report = RecomputeReport()
    marks = await gather_marks(settings, feed, report)
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        result = await apply_marks(session, marks, now)
    for key, (name, _, _) in marks.items():
        tracked.add(name if canonicalize(name) == key else key)
    report.added, report.kept_removed = result.added, result.kept_removed
    if backfill and feed is not None:
        report.backfilled = await backfill_ledger(sessions, tracked, feed, progress=progress)
    return report


async def backfill_ledger(
    sessions: async_sessionmaker[AsyncSession],
    tracked: TrackedProjects,
    feed: PyPIFeed,
    *,
    chunk: int = 25,
    progress: Progress | None = None,
) -> int:
    """Read the JSON API for each critical project the ledger has never synced."""
    async with sessions() as session:
        names = list((await session.execute(
            select(Project.name).where(
                Project.critical.is_(True), Project.synced_at.is_(None),
                Project.removed_at.is_(None),
            ).order_by(Project.id)
        )).scalars())
    done = 0
    for start in range(0, len(names), chunk):
        part = names[start : start + chunk]
        facts = [await _facts(feed, name) for name in part]
        async with sessions.begin() as session:
            ledger = Ledger(session, tracked)
            for fact in facts:
                if fact is not None:
                    await ledger.apply_facts(fact, datetime.now(UTC))
                    await ledger.apply_roles(fact, datetime.now(UTC))
        done += len(part)
        if progress:
            progress("backfill", done, len(names))
    return done


async def _facts(feed: PyPIFeed, name: str) -> ProjectFacts | None:
    """The project's facts, or None when it does not exist or the index's answer about it
    is refused (logged; the feed's own reads record such answers as anomalies)."""
    try:
        return await feed.project(name)
    except RejectedDocument as exc:
        log.warning("critical.document_refused", project=name, reason=exc.reason[:300])
        return None


async def mark_critical(session: AsyncSession, tracked: TrackedProjects, name: str,
                        actor: str, reason: str, now: datetime) -> Project:
    """Mark a project critical by an admin's word (also lifting an earlier removal).
    The actor check and the audit row are the actions layer's (bot.actions)."""
    key = canonicalize(name)
    query = select(Project).where(Project.normalized_name == key)
    project = (await session.execute(query)).scalar_one_or_none()
    if project is not None:
        project.critical_removed_at = project.critical_removed_reason = None
    await apply_marks(session, {key: (name, "manual", f"{actor}: {reason}")}, now)
    tracked.add(name)
    return (await session.execute(query)).scalar_one()


async def unmark_critical(session: AsyncSession, name: str, reason: str, now: datetime) -> bool:
    """Take a project out of the critical set; recomputes will not put it back. False when
    it was not critical."""
    project = (await session.execute(
        select(Project).where(Project.normalized_name == canonicalize(name))
    )).scalar_one_or_none()
    if project is None or not project.critical:
        return False
    project.critical = False
    project.critical_removed_at, project.critical_removed_reason = now, reason
    return True


async def explain(session: AsyncSession, name: str) -> tuple[Project, list[CriticalMark]] | None:
    project = (await session.execute(
        select(Project).where(Project.normalized_name == canonicalize(name))
    )).scalar_one_or_none()
    if project is None:
        return None
    marks = (await session.execute(
        select(CriticalMark).where(CriticalMark.project_id == project.id).order_by(CriticalMark.id)
    )).scalars()
    return project, list(marks)
