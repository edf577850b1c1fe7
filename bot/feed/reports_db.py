"""Reads of malware reports from the index's database (a read-only Warehouse replica).

A report is an ``is_malware`` row of ``project_observations`` or ``release_observations``
(``observations/models.py``). When its project or release is deleted Warehouse sets
``related_id`` to NULL and the row keeps ``related_name``, the parent's repr
(``Project(name='x')``, a release's names its project and version): the project is then
found by that name. Everything here only reads; rows are untrusted input (a summary of
any length, a payload of any shape, ``actions`` with odd keys) and never raise.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.facts import FileFacts, ProjectFacts
from bot.names import canonicalize
from bot.store import warehouse as ws
from detectors.reports import verdicts
from detectors.reports.dossier import (
    Account,
    FileFact,
    Observer,
    ProjectState,
    ReleaseFact,
    Report,
)

__all__ = ["RawReport", "new_reports", "observers", "open_report_ids", "project_facts",
           "project_reports", "project_state", "reports_between", "utc"]

MALWARE = ws.ObservationKind.IsMalware
_NAME = re.compile(r"name='((?:[^'\\]|\\.){1,400})'")
_VERSION = re.compile(r"version='((?:[^'\\]|\\.){1,200})'")
_QUARANTINE_TAG = "project:quarantine:enter"


def utc(value: datetime | None) -> datetime | None:
    """Warehouse stores naive UTC."""
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))


@dataclass(frozen=True, slots=True)
class RawReport:
    """One observation row, with the project it is about resolved."""

    id: str
    source: str  # "project" | "release"
    created: datetime
    project: str  # the project's name (the live row's, else parsed from related_name)
    version: str | None
    related_exists: bool
    observer_id: str
    summary: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    actions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return canonicalize(self.project) if self.project else ""


def _parsed(related_name: str) -> tuple[str, str | None]:
    name = _NAME.search(related_name or "")
    version = _VERSION.search(related_name or "")
    return (name.group(1) if name else (related_name or "")[:200],
            version.group(1) if version else None)


def _select(table: sa.Table) -> sa.Select[Any]:
    p, r = ws.projects, ws.releases
    if table is ws.project_observations:
        return (sa.select(table, p.c.name.label("live_name"),
                          sa.null().label("live_version"))
                .outerjoin(p, p.c.id == table.c.related_id))
    return (sa.select(table, p.c.name.label("live_name"), r.c.version.label("live_version"))
            .outerjoin(r, r.c.id == table.c.related_id)
            .outerjoin(p, p.c.id == r.c.project_id))


def _raw(row: Any, source: str) -> RawReport:
    parsed_name, parsed_version = _parsed(str(row.related_name or ""))
    exists = row.related_id is not None and row.live_name is not None
    payload = row.payload if isinstance(row.payload, Mapping) else {}
    actions = row.actions if isinstance(row.actions, Mapping) else {}
    created = utc(row.created)
    assert created is not None
    return RawReport(
        id=str(row.id), source=source, created=created,
        project=str(row.live_name) if row.live_name is not None else parsed_name,
        version=(str(row.live_version) if row.live_version is not None else parsed_version)
        if source == "release" else None,
        related_exists=exists, observer_id=str(row.observer_id),
        summary=str(row.summary or ""), payload=payload, actions=actions)


_TABLES = (("project", ws.project_observations), ("release", ws.release_observations))


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


async def new_reports(c: AsyncConnection, after: datetime | None, limit: int
                      ) -> list[RawReport]:
    """Up to ``limit`` reports created after ``after``, oldest first (both tables)."""
    found: list[RawReport] = []
    for source, table in _TABLES:
        query = _select(table).where(table.c.kind == MALWARE)
        if after is not None:
            query = query.where(table.c.created > _naive(after))
        rows = (await c.execute(query.order_by(table.c.created, table.c.id).limit(limit))).all()
        found += [_raw(row, source) for row in rows]
    found.sort(key=lambda r: (r.created, r.id))
    return found[:limit]


async def reports_between(c: AsyncConnection, start: datetime, end: datetime,
                          ids: Iterable[str] | None = None) -> list[RawReport]:
    """Reports created in (start, end]; only ``ids`` when given."""
    wanted = None if ids is None else [uuid.UUID(i) for i in ids]
    found: list[RawReport] = []
    for source, table in _TABLES:
        query = _select(table).where(table.c.kind == MALWARE,
                                     table.c.created > _naive(start),
                                     table.c.created <= _naive(end))
        if wanted is not None:
            if not wanted:
                continue
            query = query.where(table.c.id.in_(wanted))
        found += [_raw(row, source) for row in (await c.execute(query)).all()]
    found.sort(key=lambda r: (r.created, r.id))
    return found


async def report_ids_between(c: AsyncConnection, start: datetime, end: datetime
                             ) -> list[str]:
    """Only the ids (cheap: the overlap window is re-read on every poll)."""
    ids: list[str] = []
    for _, table in _TABLES:
        ids += [str(i) for i in (await c.execute(sa.select(table.c.id).where(
            table.c.kind == MALWARE, table.c.created > _naive(start),
            table.c.created <= _naive(end)))).scalars()]
    return ids


async def open_report_ids(c: AsyncConnection, ids: Sequence[str]) -> list[str]:
    """Those of ``ids`` that have no verdict yet (``actions == {}``, Warehouse's list)."""
    found: list[str] = []
    for start in range(0, len(ids), 1000):
        chunk = [uuid.UUID(i) for i in ids[start:start + 1000]]
        for _, table in _TABLES:
            rows = (await c.execute(sa.select(table.c.id, table.c.actions)
                                    .where(table.c.id.in_(chunk)))).all()
            found += [str(row.id) for row in rows if not row.actions]
    return found


async def project_reports(c: AsyncConnection, name: str) -> list[RawReport]:
    """Every ``is_malware`` report on the project called ``name`` (live or removed),
    oldest first."""
    p, r = ws.projects, ws.releases
    key = canonicalize(name)
    pid = (await c.execute(sa.select(p.c.id).where(p.c.normalized_name == key))).scalar()
    found: list[RawReport] = []
    for source, table in _TABLES:
        live = (table.c.related_id == pid) if source == "project" else \
            table.c.related_id.in_(sa.select(r.c.id).where(r.c.project_id == pid))
        # A removed parent leaves related_id NULL: found by the name in related_name
        # (LIKE's "_" matches any one separator; the exact match is made below).
        like = "%" + key.replace("%", "").replace("-", "_") + "%"
        gone = sa.and_(table.c.related_id.is_(None),
                       sa.func.lower(table.c.related_name).like(like))
        query = _select(table).where(table.c.kind == MALWARE,
                                     sa.or_(live, gone) if pid is not None else gone)
        found += [row for row in (_raw(x, source) for x in (await c.execute(query)).all())
                  if row.key == key]
    found.sort(key=lambda x: (x.created, x.id))
    return found


async def observers(c: AsyncConnection, ids: Iterable[str]) -> dict[str, Observer]:
    """Each observer's account and track record, as Warehouse's observer pages count it
    (every ``is_malware`` report they filed, ``verdicts.classify``)."""
    wanted = sorted({uuid.UUID(i) for i in ids})
    if not wanted:
        return {}
    o, u = ws.observers, ws.users
    people = {str(row.id): row for row in (await c.execute(
        sa.select(o.c.id, u.c.username, u.c.is_observer)
        .outerjoin(u, u.c.observer_association_id == o.c._association_id)
        .where(o.c.id.in_(wanted)))).all()}
    counts: dict[str, dict[str, int]] = {str(i): {"true_positive": 0, "false_positive": 0,
                                                  "pending": 0} for i in wanted}
    for _, table in _TABLES:
        rows = (await c.execute(sa.select(table.c.observer_id, table.c.related_id,
                                          table.c.actions)
                                .where(table.c.observer_id.in_(wanted),
                                       table.c.kind == MALWARE))).all()
        for row in rows:
            counts[str(row.observer_id)][verdicts.classify(row.actions,
                                                           row.related_id is not None)] += 1
    result = {}
    for i in counts:
        person = people.get(i)
        n = counts[i]
        result[i] = Observer(
            id=i, username=str(person.username) if person and person.username else None,
            trusted=bool(person and person.is_observer), confirmed=n["true_positive"],
            false_positives=n["false_positive"], pending=n["pending"])
    return result


def as_report(raw: RawReport, observer: Observer) -> Report:
    url = raw.payload.get("inspector_url")
    safe = url if isinstance(url, str) and url.startswith(("https://", "http://")) \
        and len(url) < 2000 and not any(ch in url for ch in "<>| \n\t\"") else None
    origin = raw.payload.get("origin")
    return Report(id=raw.id, table=raw.source, project=raw.project, version=raw.version,
                  created=raw.created, observer=observer, summary=raw.summary,
                  inspector_url=safe, origin=origin if isinstance(origin, str) else None,
                  actions=dict(raw.actions), related_exists=raw.related_exists)


async def project_facts(c: AsyncConnection, name: str) -> ProjectFacts | None:
    """The project's releases, files (every digest, Warehouse's storage path) and roles as
    the ledger keeps them, read from the index's database (the same facts the JSON API
    gives the feed, without waiting for it): what a restore needs after a removal."""
    p, r, f, ro, u = ws.projects, ws.releases, ws.release_files, ws.roles, ws.users
    row = (await c.execute(sa.select(p).where(p.c.normalized_name == canonicalize(name)))
           ).first()
    if row is None:
        return None
    files = (await c.execute(
        sa.select(r.c.version, r.c.yanked, r.c.yanked_reason, f)
        .join(f, f.c.release_id == r.c.id).where(r.c.project_id == row.id)
        .order_by(f.c.filename))).all()
    releases: dict[str, list[FileFacts]] = {
        str(v): [] for v in (await c.execute(sa.select(r.c.version)
                                             .where(r.c.project_id == row.id))).scalars()}
    for x in files:
        releases[str(x.version)].append(FileFacts(
            filename=str(x.filename), version=str(x.version), packagetype=str(x.packagetype),
            python_version=x.python_version, requires_python=x.requires_python,
            size=int(x.size), sha256=str(x.sha256_digest), blake2b_256=str(x.blake2_256_digest),
            md5=x.md5_digest, upload_time=utc(x.upload_time), url="",
            yanked=bool(x.yanked), yanked_reason=x.yanked_reason or None))
    roles = (await c.execute(sa.select(ro.c.role_name, u.c.username)
                             .join(u, u.c.id == ro.c.user_id)
                             .where(ro.c.project_id == row.id))).all()
    return ProjectFacts(name=str(row.name), last_serial=int(row.last_serial or 0),
                        releases=releases, requires_dist=[],
                        roles=[(str(x.role_name), str(x.username)) for x in roles])


async def project_state(c: AsyncConnection, name: str) -> ProjectState:
    """The project as the index has it now (or what is left of it once removed)."""
    p, r, f, ro, u = ws.projects, ws.releases, ws.release_files, ws.roles, ws.users
    j, ev, b = ws.journals, ws.project_events, ws.prohibited_project_names
    key = canonicalize(name)
    prohibited = (await c.execute(sa.select(b.c.observation_kind, b.c.comment)
                                  .where(b.c.name == key))).first()
    banned = None if prohibited is None else (prohibited.observation_kind
                                              or prohibited.comment or "")
    row = (await c.execute(sa.select(p).where(p.c.normalized_name == key))).first()
    if row is None:
        removed = (await c.execute(
            sa.select(j.c.submitted_date, j.c.submitted_by)
            .where(j.c.name == name, j.c.action == "remove project")
            .order_by(j.c.id.desc()).limit(1))).first()
        return ProjectState(name=name, exists=False, prohibited=banned,
                            removed_at=utc(removed.submitted_date) if removed else None,
                            removed_by=str(removed.submitted_by) if removed else None)
    rels = (await c.execute(sa.select(r.c.id, r.c.version, r.c.created, r.c.yanked,
                                      r.c.lifecycle_status, u.c.username)
                            .outerjoin(u, u.c.id == r.c.uploader_id)
                            .where(r.c.project_id == row.id)
                            .order_by(r.c.created, r.c.version))).all()
    files = (await c.execute(sa.select(f.c.release_id, f.c.filename, f.c.size,
                                       f.c.sha256_digest, f.c.upload_time)
                             .join(r, r.c.id == f.c.release_id)
                             .where(r.c.project_id == row.id)
                             .order_by(f.c.filename))).all()
    by_release: dict[Any, list[FileFact]] = {x.id: [] for x in rels}
    for x in files:
        by_release[x.release_id].append(FileFact(str(x.filename), int(x.size),
                                                 str(x.sha256_digest), utc(x.upload_time)))
    releases = tuple(ReleaseFact(
        version=str(x.version), created=utc(x.created), uploader=x.username,
        quarantined=x.lifecycle_status == ws.LifecycleStatus.QuarantineEnter,
        yanked=bool(x.yanked), files=tuple(by_release[x.id])) for x in rels)
    uploads: dict[str, int] = {}
    for rel in releases:
        if rel.uploader:
            uploads[rel.uploader] = uploads.get(rel.uploader, 0) + 1
    people = (await c.execute(sa.select(u.c.username, u.c.date_joined, u.c.is_frozen,
                                        ro.c.role_name)
                              .join(ro, ro.c.user_id == u.c.id)
                              .where(ro.c.project_id == row.id))).all()
    accounts = [Account(str(x.username), utc(x.date_joined), bool(x.is_frozen),
                        str(x.role_name), uploads.get(str(x.username), 0)) for x in people]
    named = {a.username for a in accounts}
    for uploader in sorted(set(uploads) - named):
        person = (await c.execute(sa.select(u.c.date_joined, u.c.is_frozen)
                                  .where(u.c.username == uploader))).first()
        accounts.append(Account(uploader, utc(person.date_joined) if person else None,
                                bool(person and person.is_frozen), None, uploads[uploader]))
    quarantined = row.lifecycle_status == ws.LifecycleStatus.QuarantineEnter
    entered = (await c.execute(sa.select(ev.c.time, ev.c.additional)
                               .where(ev.c.source_id == row.id, ev.c.tag == _QUARANTINE_TAG)
                               .order_by(ev.c.time.desc()).limit(1))).first() \
        if quarantined else None
    by = (entered.additional or {}).get("submitted_by") if entered is not None else None
    return ProjectState(
        name=str(row.name), exists=True, created=utc(row.created), quarantined=quarantined,
        quarantined_by=str(by) if by else None,
        quarantined_at=utc(entered.time) if entered is not None else None,
        prohibited=banned, releases=releases, accounts=tuple(accounts))
