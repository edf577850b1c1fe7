"""The ledger's history, and a tracked project as it was at one point in the changelog.

The ledger's release, file and role rows hold the present. A restore must bring back
the state just before the removal it answers, not everything the ledger ever saw: a
release removed on purpose earlier stays removed, and the roles are those held then (a
role removed and granted again, or granted after, must not leak in). So the feed also
appends each change it applies to a tracked project to ``ledger_changes`` (the parsed
changelog entry), and ``state_before`` replays that history up to a point.

What the history cannot know it takes from the rows: a release, file or role that no
recorded change touched before the point was there already (it came from the JSON API
when the project became tracked), unless its first recorded change is an addition
after the point (then it came later).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import EventKind, IndexEvent
from bot.store.models import LedgerChange, Project, Role

__all__ = [
    "HISTORY_KINDS",
    "Point",
    "Presence",
    "ProjectState",
    "Removal",
    "changes",
    "last_removal",
    "record",
    "state_before",
]

_RELEASE_GAINED = {EventKind.NEW_RELEASE}
_ROLE_GAINED = {EventKind.ROLE_ADD, EventKind.ROLE_ACCEPT, EventKind.ROLE_CHANGE}
_REMOVALS = {EventKind.REMOVE_PROJECT, EventKind.REMOVE_RELEASE, EventKind.REMOVE_FILE}
HISTORY_KINDS = frozenset({
    EventKind.CREATE, *_RELEASE_GAINED, EventKind.ADD_FILE, *_REMOVALS, *_ROLE_GAINED,
    EventKind.ROLE_REMOVE,
})


def record(session: AsyncSession, project: Project, event: IndexEvent) -> None:
    """Append `event` to the project's history (kinds that change what a restore needs)."""
    if event.kind not in HISTORY_KINDS:
        return
    session.add(LedgerChange(
        project_id=project.id, serial=event.serial, at=event.at, kind=event.kind.value,
        version=event.version, filename=event.filename, username=event.user,
        role=event.role))


async def changes(session: AsyncSession, project_id: int) -> list[LedgerChange]:
    """The project's history in changelog order.

    Rows the migration carried over without a serial (removals) are placed by time among
    the others: a role granted at serial 12 and removed later must replay as granted then
    removed, not the other way round. At the same time, the row with a serial goes first
    (an addition and its removal in one second happened in that order)."""
    rows = (await session.execute(
        select(LedgerChange).where(LedgerChange.project_id == project_id))).scalars().all()
    numbered = sorted((r for r in rows if r.serial is not None),
                      key=lambda r: (r.serial or 0, r.id))
    timed = sorted((r for r in rows if r.serial is None), key=lambda r: (r.at, r.id))
    merged: list[LedgerChange] = []
    i = 0
    for row in numbered:
        while i < len(timed) and timed[i].at < row.at:
            merged.append(timed[i])
            i += 1
        merged.append(row)
    return merged + timed[i:]


@dataclass(frozen=True, slots=True)
class Point:
    """Just before changelog entry `serial` (at `at`): what a removal found."""

    serial: int | None
    at: datetime

    def after(self, row: LedgerChange) -> bool:
        """Whether `row` happened at or after this point."""
        if row.serial is not None and self.serial is not None:
            return row.serial >= self.serial
        return row.at >= self.at

    def describe(self) -> str:
        where = f"changelog serial {self.serial}" if self.serial is not None else "the change"
        return f"just before {where} ({self.at.isoformat(sep=' ', timespec='seconds')})"


@dataclass(frozen=True, slots=True)
class Removal:
    """When something was removed: its serial, time and which removal it was."""

    serial: int | None
    at: datetime
    kind: str
    version: str | None = None

    @property
    def point(self) -> Point:
        return Point(self.serial, self.at)

    def describe(self) -> str:
        what = {"remove_project": "with the project", "remove_release": "with its release",
                "remove_file": "on its own"}.get(self.kind, self.kind)
        serial = f"serial {self.serial}, " if self.serial is not None else ""
        return f"removed {what} ({serial}{self.at.isoformat(sep=' ', timespec='seconds')})"

    @classmethod
    def of(cls, row: LedgerChange) -> Removal:
        return cls(row.serial, row.at, row.kind, row.version)


class Presence(StrEnum):
    PRESENT = "present"  # on the index at the point
    REMOVED = "removed"  # removed before the point (see ProjectState.removed)
    LATER = "later"  # first added after the point


@dataclass
class ProjectState:
    """A project's releases, files and roles as they were at one point."""

    point: Point | None
    releases: dict[str, Presence] = field(default_factory=dict)  # version ->
    files: dict[str, Presence] = field(default_factory=dict)  # filename ->
    removed: dict[str, Removal] = field(default_factory=dict)  # "v:<ver>"/"f:<name>" ->
    roles: dict[str, str] = field(default_factory=dict)  # username -> role held


def last_removal(history: Sequence[LedgerChange], *, version: str | None = None,
                 filename: str | None = None) -> Removal | None:
    """The removal that last took away the project (no `version`), the release `version`
    or the file `filename` of release `version`: the last one that found it there (a
    project removal after the release was gone already is not the release's)."""
    found: Removal | None = None
    present = True
    for row in history:
        kind = row.kind
        if version is None:
            if kind == EventKind.REMOVE_PROJECT:
                found = Removal.of(row)
            continue
        if (kind == EventKind.NEW_RELEASE and row.version == version and filename is None) \
                or (kind == EventKind.ADD_FILE and filename is not None
                    and row.filename == filename):
            present = True
        elif present and (kind == EventKind.REMOVE_PROJECT
                          or (kind == EventKind.REMOVE_RELEASE and row.version == version)
                          or (kind == EventKind.REMOVE_FILE and filename is not None
                              and row.filename == filename)):
            found, present = Removal.of(row), False
    return found


def state_before(project: Project, roles: Iterable[tuple[Role, str]],
                 history: Sequence[LedgerChange], point: Point | None) -> ProjectState:
    """Replay `history` up to `point` over the ledger's rows (`project` with its releases
    and files loaded, `roles` as (row, username)); `point` None: everything recorded,
    with each row's own removal."""
    state = ProjectState(point)
    files_of: dict[str, list[str]] = {
        r.version: [f.filename for f in r.files] for r in project.releases}
    seen: set[str] = set()  # items a change before the point touched

    def remove(key: str, row: LedgerChange) -> None:
        seen.add(key)
        kind, name = key[0], key[2:]
        table = state.releases if kind == "v" else state.files
        if table.get(name) is not Presence.REMOVED:  # the first removal is the one to tell
            table[name] = Presence.REMOVED
            state.removed[key] = Removal.of(row)

    def add(key: str) -> None:
        seen.add(key)
        (state.releases if key[0] == "v" else state.files)[key[2:]] = Presence.PRESENT
        state.removed.pop(key, None)

    later: set[str] = set()
    for row in history:
        if point is not None and point.after(row):
            if row.kind == EventKind.NEW_RELEASE and row.version is not None:
                later.add(f"v:{row.version}")
            elif row.kind == EventKind.ADD_FILE and row.filename is not None:
                later.add(f"f:{row.filename}")
            elif row.kind in _ROLE_GAINED and row.username:
                later.add(f"u:{row.username}")
            continue
        kind = EventKind(row.kind)
        if kind is EventKind.REMOVE_PROJECT:
            for version, names in files_of.items():
                remove(f"v:{version}", row)
                for name in names:
                    remove(f"f:{name}", row)
            seen.update(f"u:{u}" for u in state.roles)
            state.roles.clear()
        elif kind is EventKind.NEW_RELEASE and row.version is not None:
            add(f"v:{row.version}")
        elif kind is EventKind.REMOVE_RELEASE and row.version is not None:
            remove(f"v:{row.version}", row)
            for name in files_of.get(row.version, ()):
                remove(f"f:{name}", row)
        elif kind is EventKind.ADD_FILE and row.filename is not None:
            add(f"f:{row.filename}")
            if row.version is not None:
                add(f"v:{row.version}")
        elif kind is EventKind.REMOVE_FILE and row.filename is not None:
            remove(f"f:{row.filename}", row)
        elif kind in _ROLE_GAINED and row.username and row.role:
            seen.add(f"u:{row.username}")
            state.roles[row.username] = row.role
        elif kind is EventKind.ROLE_REMOVE and row.username:
            seen.add(f"u:{row.username}")
            state.roles.pop(row.username, None)
    # What no change before the point touched: there already, unless it came later.
    for version, names in files_of.items():
        for key in (f"v:{version}", *(f"f:{n}" for n in names)):
            if key not in seen:
                table = state.releases if key[0] == "v" else state.files
                table[key[2:]] = Presence.LATER if key in later else Presence.PRESENT
    for role, username in roles:
        untouched = f"u:{username}" not in seen and f"u:{username}" not in later
        if untouched and (point is not None or role.removed_at is None):
            state.roles[username] = role.role
    return state
