"""Restore writes of the ``warehouse`` backend: rows put back the way an upload writes them.

Checked against pypi/warehouse 6b62157124ab7865029afeeadf282bce27d601d9: a project as
``packaging/services.py`` ``create_project`` makes one (journal "create", event
``project:create`` ``{created_by}``), each role as the admin's ``add_role``
(``admin/views/projects.py``: journal "add <role> <user>", events ``project:role:add`` and
``account:role:add``), a release and a file as ``forklift/legacy.py`` (events
``project:release:add`` and ``file:add``, journals "new release" and
"add <pyver> file <filename>", ``_pypi_ordering`` re-sorted, the filename in
``file_registry``). ``projects.total_size``, ``last_serial``, ``normalized_name``,
``sitemap_bucket``, ``releases.is_prerelease`` and ``release_files.requires_python`` are
the triggers' work (see bot.store.warehouse for the SQLite double).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import warehouse as ws
from playbooks.base import StepFailed
from playbooks.index_admin import warehouse_reads as reads
from playbooks.index_admin.base import FileSpec, IndexConflict, ProjectSpec, ReleaseSpec
from playbooks.index_admin.warehouse_records import Author, event, journal, naive_now

__all__ = ["UPLOADED_VIA", "add_file", "create_project", "create_release", "packagetype"]

UPLOADED_VIA = "index-warden/restore"
_UPLOAD_EXTRA = {"publisher_url": None, "uploaded_via_trusted_publisher": False}


def _naive(at: datetime | None) -> datetime:
    # Warehouse stores naive UTC (timestamp without time zone).
    if at is None:
        return naive_now()
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _version_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def packagetype(spec: FileSpec) -> tuple[ws.PackageType, str]:
    """(packagetype, python_version) from the ledger, else from the filename."""
    try:
        kind = ws.PackageType(spec.packagetype or "")
    except ValueError:
        kind = (ws.PackageType.bdist_wheel if spec.filename.endswith(".whl")
                else ws.PackageType.sdist)
    pyver = spec.python_version
    if not pyver:
        pyver = spec.filename[:-4].split("-")[-3] if kind is ws.PackageType.bdist_wheel \
            else "source"
    return kind, pyver


async def create_project(c: AsyncConnection, author: Author, spec: ProjectSpec) -> bool:
    if await reads.project_row(c, spec.name) is not None:
        return False
    pid = uuid.uuid4()
    await c.execute(sa.insert(ws.projects).values(
        id=pid, name=spec.name, normalized_name=ws.normalize_name(spec.name),
        created=_naive(spec.created)))
    await event(c, ws.project_events, pid, "project:create", {"created_by": author.username})
    added: list[tuple[str, str]] = []
    for role, username in spec.roles:
        user = await reads.user_row(c, username)
        if user is None:
            continue  # the plan reported it: the account no longer exists
        await c.execute(sa.insert(ws.roles).values(role_name=role, user_id=user.id,
                                                   project_id=pid))
        await event(c, ws.project_events, pid, "project:role:add", {
            "submitted_by": author.username, "role_name": role,
            "target_user": str(user.username)})
        await event(c, ws.user_events, user.id, "account:role:add", {
            "submitted_by": author.username, "project_name": spec.name, "role_name": role})
        added.append((role, str(user.username)))
    await journal(c, spec.name, None, "create", author)
    for role, username in added:
        await journal(c, spec.name, None, f"add {role} {username}", author)
    return True


async def create_release(c: AsyncConnection, author: Author, p: sa.Row[Any],
                         spec: ReleaseSpec) -> bool:
    if await reads.release_row(c, p.id, spec.version) is not None:
        return False
    did, rid = uuid.uuid4(), uuid.uuid4()
    await c.execute(sa.insert(ws.release_descriptions).values(
        id=did, content_type="text/plain", raw="", html="", rendered_by=UPLOADED_VIA))
    await c.execute(sa.insert(ws.releases).values(
        id=rid, project_id=p.id, version=spec.version,
        canonical_version=canonicalize_version(spec.version),
        is_prerelease=ws.pep440_is_prerelease(spec.version),
        created=_naive(spec.created), requires_python=spec.requires_python,
        description_id=did, yanked=spec.yanked, yanked_reason=spec.yanked_reason,
        yanked_date=naive_now() if spec.yanked else None, uploaded_via=UPLOADED_VIA))
    for specifier in spec.requires_dist:
        await c.execute(sa.insert(ws.release_dependencies).values(
            release_id=rid, kind=int(ws.DependencyKind.requires_dist), specifier=specifier))
    await event(c, ws.project_events, p.id, "project:release:add", {
        "submitted_by": author.username,
        "canonical_version": canonicalize_version(spec.version), **_UPLOAD_EXTRA})
    await _sort_releases(c, p.id)
    await journal(c, p.name, spec.version, "new release", author)
    return True


async def _sort_releases(c: AsyncConnection, pid: uuid.UUID) -> None:
    # forklift's _sort_releases: rank by version, write only the ranks that moved.
    r = ws.releases
    rows = (await c.execute(sa.select(r.c.id, r.c.version, r.c._pypi_ordering)
                            .where(r.c.project_id == pid))).all()
    for rank, row in enumerate(sorted(rows, key=lambda x: _version_key(x.version))):
        if row._pypi_ordering != rank:
            await c.execute(sa.update(r).where(r.c.id == row.id).values(_pypi_ordering=rank))


async def add_file(c: AsyncConnection, author: Author, project: str, spec: FileSpec,
                   path: str) -> bool:
    """The file row (its blob is already in place: a row never points at nothing)."""
    f, reg = ws.release_files, ws.file_registry
    p = await reads.project_row(c, project)
    if p is None:
        raise StepFailed(f"project {project!r} does not exist on the index")
    rel = await reads.release_row(c, p.id, spec.version)
    if rel is None:
        raise StepFailed(f"release {project} {spec.version} does not exist on the index")
    present = (await c.execute(sa.select(f.c.sha256_digest)
                               .where(f.c.filename == spec.filename))).scalar()
    if present is not None:
        if str(present).lower() == spec.sha256.lower():
            return False
        raise IndexConflict(f"the index already has {spec.filename} with sha256 "
                            f"{present}, not {spec.sha256}")
    kind, pyver = packagetype(spec)
    # Releases from before one sdist per release was enforced may hold two; Warehouse
    # keeps those with allow_multiple_sdist (its unique index exempts them).
    double_sdist = kind is ws.PackageType.sdist and (await c.execute(
        sa.select(f.c.id).where(f.c.release_id == rel.id,
                                f.c.packagetype == ws.PackageType.sdist))).first() is not None
    fid = uuid.uuid4()
    await c.execute(sa.insert(f).values(
        id=fid, release_id=rel.id, python_version=pyver, packagetype=kind,
        filename=spec.filename, path=path, size=spec.size, md5_digest=spec.md5,
        sha256_digest=spec.sha256.lower(), blake2_256_digest=spec.blake2b_256.lower(),
        upload_time=_naive(spec.upload_time), uploaded_via=UPLOADED_VIA,
        allow_multiple_sdist=double_sdist))
    if (await c.execute(sa.select(reg.c.id).where(reg.c.filename == spec.filename))).first() \
            is None:
        await c.execute(sa.insert(reg).values(filename=spec.filename))
    await event(c, ws.file_events, fid, "file:add", {
        "filename": spec.filename, "submitted_by": author.username,
        "canonical_version": rel.canonical_version, "project_id": str(p.id), **_UPLOAD_EXTRA})
    await journal(c, p.name, rel.version, f"add {pyver} file {spec.filename}", author)
    return True
