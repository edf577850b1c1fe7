"""The critical set: which projects matter most, and why.

A project is critical when it is among the most downloaded (a download export, or the
bundled ranked snapshot), when the index's own stack depends on it (transitively, from
`requires_dist`), or when an admin says so. The flag is sticky: a recompute only adds;
an admin's explicit removal is the one way out, and a recompute respects it.
"""

from __future__ import annotations

import csv
import json
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources.abc import Traversable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.names import canonicalize
from bot.store.models import CriticalMark, Project
from detectors.bundled import TOP_PROJECTS


class DownloadSourceError(ValueError):
    """The download export cannot be used (missing, unreadable, wrong columns)."""


@dataclass(frozen=True, slots=True)
class DownloadTable:
    """Projects, most downloaded first; `complete` when it lists every project."""

    ranked: list[str]
    complete: bool


def load_downloads(path: Path | None) -> DownloadTable:
    """Read a CSV/TSV/JSON export of per-project totals, or the bundled ranked snapshot."""
    if path is None:
        return DownloadTable(_ranked_names(TOP_PROJECTS), complete=False)
    if not path.is_file():
        raise DownloadSourceError(f"{path}: download export not found")
    if path.suffix == ".json":
        return DownloadTable(_sorted_by_downloads(_json_rows(path), path), complete=True)
    return DownloadTable(_sorted_by_downloads(_csv_rows(path), path), complete=True)


def _ranked_names(snapshot: Traversable) -> list[str]:
    lines = snapshot.read_text(encoding="utf-8").splitlines()
    return [row[0].strip() for row in csv.reader(lines, delimiter="\t")
            if row and row[0].strip() and row[0].strip().lower() != "name"]


def _csv_rows(path: Path) -> Iterable[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh, delimiter="\t" if path.suffix == ".tsv" else ",")


def _json_rows(path: Path) -> Iterable[dict[str, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DownloadSourceError(f"{path}: not a JSON download export: {exc}") from None
    if isinstance(data, dict):  # {"project": downloads, ...}
        return [{"project": k, "downloads": v} for k, v in data.items()]
    if isinstance(data, list):
        return [row for row in data if isinstance(row, dict)]
    raise DownloadSourceError(f"{path}: expected a JSON object or list")


def _sorted_by_downloads(rows: Iterable[Mapping[str, object]], path: Path) -> list[str]:
    counts: list[tuple[int, str]] = []
    for line, row in enumerate(rows, start=2):
        name = row.get("project") or row.get("name")
        raw = row.get("downloads", row.get("download_count"))
        if not isinstance(name, str) or not name.strip():
            raise DownloadSourceError(f"{path}: row {line} has no `project`/`name`")
        try:
            downloads = int(str(raw))
        except ValueError:
            raise DownloadSourceError(f"{path}: row {line}: downloads {raw!r} is not a number") from None
        counts.append((downloads, name.strip()))
    counts.sort(key=lambda c: (-c[0], c[1]))
    return [name for _, name in counts]


def top_count(top: str, table: DownloadTable, total_projects: int) -> int:
    """How many names `top` ("4000" or "1%") means for this table."""
    top = top.strip()
    if top.endswith("%"):
        total = len(table.ranked) if table.complete else total_projects
        return min(len(table.ranked), math.ceil(float(top[:-1]) / 100 * total))
    return min(len(table.ranked), int(top))


def runtime_dependencies(requires_dist: Iterable[str]) -> set[str]:
    """Canonical names of the non-optional requirements (extras excluded)."""
    names = set()
    for spec in requires_dist:
        try:
            req = Requirement(spec)
        except InvalidRequirement:
            continue
        if req.marker is not None and "extra" in str(req.marker):
            continue
        names.add(canonicalize(req.name))
    return names


@dataclass(slots=True)
class Closure:
    """Each reached project with the path that led to it; projects the index lacks."""

    via: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    truncated: bool = False


async def dependency_closure(
    roots: Iterable[str],
    requires: Callable[[str], Awaitable[list[str] | None]],
    limit: int,
) -> Closure:
    """Breadth-first over `requires` (None: the project does not exist); cycle-safe."""
    closure = Closure()
    queue: deque[str] = deque()
    for root in roots:
        key = canonicalize(root)
        if key not in closure.via:
            closure.via[key] = [key]
            queue.append(key)
    while queue:
        name = queue.popleft()
        deps = await requires(name)
        if deps is None:
            closure.missing.append(name)
            continue
        for dep in sorted(runtime_dependencies(deps)):
            if dep in closure.via:
                continue
            if len(closure.via) >= limit:
                closure.truncated = True
                return closure
            closure.via[dep] = [*closure.via[name], dep]
            queue.append(dep)
    return closure


@dataclass(slots=True)
class Recompute:
    added: list[str] = field(default_factory=list)
    marks: int = 0
    kept_removed: list[str] = field(default_factory=list)


async def apply_marks(
    session: AsyncSession, marks: dict[str, tuple[str, str, str]], now: datetime
) -> Recompute:
    """Record reasons {canonical: (display name, source, detail)}; flag new critical ones.

    Never clears a flag (sticky); a project an admin removed stays out.
    """
    result = Recompute()
    keys = list(marks)
    projects: dict[str, Project] = {}
    for start in range(0, len(keys), 500):  # stay far below bound-parameter limits
        chunk = keys[start : start + 500]
        rows = await session.execute(select(Project).where(Project.normalized_name.in_(chunk)))
        projects.update({p.normalized_name: p for p in rows.scalars()})
    for key, (name, _, _) in marks.items():
        if key not in projects:
            projects[key] = Project(name=name, normalized_name=key, releases=[])
            session.add(projects[key])
    await session.flush()
    existing = {
        (m.project_id, m.source): m
        for start in range(0, len(keys), 500)
        for m in (await session.execute(
            select(CriticalMark).where(
                CriticalMark.project_id.in_([projects[k].id for k in keys[start : start + 500]])
            )
        )).scalars()
    }
    for key, (_, source, detail) in marks.items():
        project = projects[key]
        mark = existing.get((project.id, source))
        if mark is None:
            session.add(CriticalMark(project_id=project.id, source=source, detail=detail,
                                     first_at=now, last_at=now))
            result.marks += 1
        else:
            mark.detail, mark.last_at = detail, now
        if project.critical_removed_at is not None:
            result.kept_removed.append(project.name)
        elif not project.critical:
            project.critical, project.critical_since = True, now
            project.critical_reason = f"{source}: {detail}"
            result.added.append(project.name)
    await session.flush()
    return result
