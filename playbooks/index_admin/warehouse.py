"""The ``warehouse`` backend: a Warehouse (PyPI) database, changed the way Warehouse does.

Checked against pypi/warehouse 6b62157124ab7865029afeeadf282bce27d601d9:

- yank / unyank (``manage/views/__init__.py``): ``releases.yanked``, ``yanked_reason``,
  ``yanked_date``; journal "yank release" / "unyank release"; project event
  ``project:release:yank`` / ``project:release:unyank``.
- quarantine (``utils/project.py``): ``projects.lifecycle_status`` quarantine-enter /
  quarantine-exit with ``lifecycle_status_note`` "Quarantined by <actor>."; journal
  "project quarantined" / "project quarantine cleared"; project event
  ``project:quarantine:enter`` / ``exit``; entering also freezes every user with a role.
- freeze (``admin/views/users.py``): ``users.is_frozen``; ``prohibit_password_reset``
  is the admin form's flag. Warehouse writes no journal for account changes (journals
  are per project), so neither do we: the bot's audit log records them.
- unverify (``accounts/tasks.py``): ``user_emails.verified = False`` with
  ``unverify_reason`` "domain status invalid", as Warehouse's expired-domain task does.
- restore: re-inserted ``projects`` / ``releases`` / ``release_files`` rows (the blob is
  put back at ``packages/<release_files.path>`` first, so a row never points at nothing)
  with the journals an upload writes ("create", "add <role> <user>", "new release",
  "add <pyver> file <filename>"), so the restore shows in the changelog.

Journals are submitted by the acting admin when they have a Warehouse account, else by
Warehouse's ``admin`` user (as its tasks do), else by nobody. Values Warehouse's
PostgreSQL triggers maintain (``normalized_name``, ``last_serial``, ``_pypi_ordering``)
are also set here, which is harmless where the triggers exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.names import canonicalize
from bot.store.db import create_engine
from playbooks.base import StepFailed
from playbooks.index_admin import warehouse_schema as ws
from playbooks.index_admin.base import (
    FileSpec,
    IndexAccount,
    IndexConflict,
    IndexEmail,
    IndexFile,
    IndexProject,
    IndexRelease,
    ProjectSpec,
    ReleaseSpec,
)
from playbooks.storage.base import BlobStorage, blob_path

__all__ = ["FILES_PREFIX", "WarehouseAdmin"]

FILES_PREFIX = "packages/"  # Warehouse's files.prefix: storage key = prefix + path
UPLOADED_VIA = "index-warden/restore"
_QUARANTINE = ws.LifecycleStatus.QuarantineEnter


def _naive(at: datetime | None) -> datetime:
    # Warehouse stores naive UTC (timestamp without time zone).
    at = at or datetime.now(UTC)
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _version_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _packagetype(spec: FileSpec) -> tuple[ws.PackageType, str]:
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


class WarehouseAdmin:
    """Changes a Warehouse database (PostgreSQL, or the index double's SQLite)."""

    kind = "warehouse"

    def __init__(self, engine: AsyncEngine, files: BlobStorage) -> None:
        self.engine = engine
        self.files = files  # where the index serves blobs from (its bucket, or a directory)

    @classmethod
    def open(cls, url: str, files: BlobStorage) -> WarehouseAdmin:
        return cls(create_engine(url), files)

    async def close(self) -> None:
        await self.engine.dispose()

    def unsupported(self, action: str) -> str | None:
        return None

    # -- reads -----------------------------------------------------------------

    async def _project_row(self, c: AsyncConnection, name: str) -> sa.Row[Any] | None:
        p = ws.projects
        stmt = sa.select(p).where(p.c.normalized_name == canonicalize(name))
        return (await c.execute(stmt)).first()

    async def _need_project(self, c: AsyncConnection, name: str) -> sa.Row[Any]:
        row = await self._project_row(c, name)
        if row is None:
            raise StepFailed(f"project {name!r} does not exist on the index")
        return row

    async def _release_row(self, c: AsyncConnection, pid: uuid.UUID, version: str
                           ) -> sa.Row[Any] | None:
        r = ws.releases
        rows = (await c.execute(sa.select(r).where(
            r.c.project_id == pid,
            r.c.canonical_version == canonicalize_version(version)))).all()
        exact = [row for row in rows if row.version == version]
        return (exact or rows)[0] if rows else None

    async def project(self, name: str) -> IndexProject | None:
        r, f, ro, u = ws.releases, ws.release_files, ws.roles, ws.users
        async with self.engine.connect() as c:
            p = await self._project_row(c, name)
            if p is None:
                return None
            rels = (await c.execute(sa.select(r.c.id, r.c.version, r.c.yanked, r.c.yanked_reason)
                                    .where(r.c.project_id == p.id))).all()
            files = (await c.execute(
                sa.select(f.c.release_id, f.c.filename, f.c.sha256_digest,
                          f.c.blake2_256_digest, f.c.size)
                .join(r, r.c.id == f.c.release_id).where(r.c.project_id == p.id))).all()
            users = (await c.execute(sa.select(u.c.username).join(ro, ro.c.user_id == u.c.id)
                                     .where(ro.c.project_id == p.id))).scalars().all()
        by_release: dict[Any, dict[str, IndexFile]] = {x.id: {} for x in rels}
        for x in files:
            by_release[x.release_id][x.filename] = IndexFile(
                x.filename, x.sha256_digest, x.blake2_256_digest, x.size)
        return IndexProject(
            name=p.name, quarantined=p.lifecycle_status == _QUARANTINE,
            releases={x.version: IndexRelease(x.version, bool(x.yanked), x.yanked_reason or "",
                                              by_release[x.id]) for x in rels},
            users=tuple(sorted(users)))

    async def _account(self, c: AsyncConnection, user: sa.Row[Any]) -> IndexAccount:
        e = ws.user_emails
        emails = (await c.execute(sa.select(e).where(e.c.user_id == user.id)
                                  .order_by(e.c.id))).all()
        return IndexAccount(
            username=user.username, frozen=bool(user.is_frozen),
            password_reset_prohibited=bool(user.prohibit_password_reset),
            emails=tuple(IndexEmail(x.email, bool(x.verified), bool(x.primary),
                                    str(x.unverify_reason) if x.unverify_reason else None)
                         for x in emails))

    async def account(self, username: str) -> IndexAccount | None:
        u = ws.users
        async with self.engine.connect() as c:
            user = (await c.execute(sa.select(u).where(u.c.username == username))).first()
            return None if user is None else await self._account(c, user)

    async def email_owner(self, email: str) -> IndexAccount | None:
        u, e = ws.users, ws.user_emails
        async with self.engine.connect() as c:
            user = (await c.execute(sa.select(u).join(e, e.c.user_id == u.c.id).where(
                sa.func.lower(e.c.email) == email.lower()))).first()
            return None if user is None else await self._account(c, user)

    async def fetch_file(self, project: str, version: str, filename: str) -> bytes | None:
        f, r, p = ws.release_files, ws.releases, ws.projects
        async with self.engine.connect() as c:
            path = (await c.execute(
                sa.select(f.c.path).join(r, r.c.id == f.c.release_id)
                .join(p, p.c.id == r.c.project_id)
                .where(p.c.normalized_name == canonicalize(project), f.c.filename == filename)
            )).scalar()
        return None if path is None else await self.files.get(FILES_PREFIX + path)

    # -- journal and events ----------------------------------------------------

    async def _submitter(self, c: AsyncConnection, actor: str) -> str | None:
        u = ws.users
        for name in (actor, "admin"):
            found = (await c.execute(sa.select(u.c.username).where(u.c.username == name))).scalar()
            if found is not None:
                return str(found)
        return None

    async def _journal(self, c: AsyncConnection, name: str, version: str | None, action: str,
                       actor: str) -> int:
        result = await c.execute(sa.insert(ws.journals).values(
            name=name, version=version, action=action, submitted_date=_naive(None),
            submitted_by=await self._submitter(c, actor)))
        key = result.inserted_primary_key
        assert key is not None
        serial = int(key[0])
        # What Warehouse's update_project_last_serial trigger does.
        await c.execute(sa.update(ws.projects).where(ws.projects.c.name == name)
                        .values(last_serial=serial))
        return serial

    async def _project_event(self, c: AsyncConnection, pid: uuid.UUID, tag: str,
                             **additional: Any) -> None:
        await c.execute(sa.insert(ws.project_events).values(
            source_id=pid, tag=tag, time=_naive(None), additional=additional))

    # -- restore -----------------------------------------------------------------

    async def create_project(self, spec: ProjectSpec, actor: str) -> bool:
        u = ws.users
        async with self.engine.begin() as c:
            if await self._project_row(c, spec.name) is not None:
                return False
            pid = uuid.uuid4()
            await c.execute(sa.insert(ws.projects).values(
                id=pid, name=spec.name, normalized_name=canonicalize(spec.name),
                created=_naive(spec.created), lifecycle_status_changed=None))
            await self._journal(c, spec.name, None, "create", actor)
            for role, username in spec.roles:
                uid = (await c.execute(sa.select(u.c.id).where(u.c.username == username))).scalar()
                if uid is None:
                    continue  # the plan reported it: the account no longer exists
                await c.execute(sa.insert(ws.roles).values(
                    role_name=role, user_id=uid, project_id=pid))
                await self._journal(c, spec.name, None, f"add {role} {username}", actor)
            return True

    async def create_release(self, project: str, spec: ReleaseSpec, actor: str) -> bool:
        async with self.engine.begin() as c:
            p = await self._need_project(c, project)
            if await self._release_row(c, p.id, spec.version) is not None:
                return False
            did, rid = uuid.uuid4(), uuid.uuid4()
            await c.execute(sa.insert(ws.release_descriptions).values(
                id=did, content_type="text/plain", raw="", html="", rendered_by=UPLOADED_VIA))
            try:
                pre = Version(spec.version).is_prerelease
            except InvalidVersion:
                pre = False
            await c.execute(sa.insert(ws.releases).values(
                id=rid, project_id=p.id, version=spec.version,
                canonical_version=canonicalize_version(spec.version), is_prerelease=pre,
                created=_naive(spec.created), requires_python=spec.requires_python,
                description_id=did, yanked=spec.yanked, yanked_reason=spec.yanked_reason,
                yanked_date=_naive(None) if spec.yanked else None,
                uploaded_via=UPLOADED_VIA, lifecycle_status_changed=None))
            for specifier in spec.requires_dist:
                await c.execute(sa.insert(ws.release_dependencies).values(
                    release_id=rid, kind=int(ws.DependencyKind.requires_dist),
                    specifier=specifier))
            await self._journal(c, p.name, spec.version, "new release", actor)
            await self._reorder(c, p.id)
            return True

    async def _reorder(self, c: AsyncConnection, pid: uuid.UUID) -> None:
        r = ws.releases
        rows = (await c.execute(sa.select(r.c.id, r.c.version)
                                .where(r.c.project_id == pid))).all()
        for rank, row in enumerate(sorted(rows, key=lambda x: _version_key(x.version))):
            await c.execute(sa.update(r).where(r.c.id == row.id).values(_pypi_ordering=rank))

    async def add_file(self, project: str, spec: FileSpec, blob: bytes, actor: str) -> bool:
        f, reg = ws.release_files, ws.file_registry
        path = blob_path(spec.blake2b_256, spec.filename)
        # The blob first: a committed row must never point at a missing object.
        await self.files.ensure(FILES_PREFIX + path, blob)
        kind, pyver = _packagetype(spec)
        async with self.engine.begin() as c:
            p = await self._need_project(c, project)
            rel = await self._release_row(c, p.id, spec.version)
            if rel is None:
                raise StepFailed(f"release {project} {spec.version} does not exist on the index")
            present = (await c.execute(sa.select(f.c.sha256_digest)
                                       .where(f.c.filename == spec.filename))).scalar()
            if present is not None:
                if str(present).lower() == spec.sha256.lower():
                    return False
                raise IndexConflict(f"the index already has {spec.filename} with sha256 "
                                    f"{present}, not {spec.sha256}")
            await c.execute(sa.insert(f).values(
                release_id=rel.id, python_version=pyver, requires_python=spec.requires_python,
                packagetype=kind, filename=spec.filename, path=path, size=spec.size,
                md5_digest=spec.md5, sha256_digest=spec.sha256.lower(),
                blake2_256_digest=spec.blake2b_256.lower(),
                upload_time=_naive(spec.upload_time), uploaded_via=UPLOADED_VIA))
            if (await c.execute(sa.select(reg.c.id)
                                .where(reg.c.filename == spec.filename))).first() is None:
                await c.execute(sa.insert(reg).values(filename=spec.filename))
            await c.execute(sa.update(ws.projects).where(ws.projects.c.id == p.id).values(
                total_size=sa.func.coalesce(ws.projects.c.total_size, 0) + spec.size))
            await self._journal(c, p.name, rel.version, f"add {pyver} file {spec.filename}",
                                actor)
            return True

    # -- yank, quarantine --------------------------------------------------------

    async def set_yanked(self, project: str, version: str, yanked: bool, reason: str,
                         actor: str) -> bool:
        r = ws.releases
        async with self.engine.begin() as c:
            p = await self._need_project(c, project)
            rel = await self._release_row(c, p.id, version)
            if rel is None:
                raise StepFailed(f"release {project} {version} does not exist on the index")
            reason = reason if yanked else ""
            if bool(rel.yanked) == yanked and (rel.yanked_reason or "") == reason:
                return False
            await c.execute(sa.update(r).where(r.c.id == rel.id).values(
                yanked=yanked, yanked_reason=reason,
                yanked_date=_naive(None) if yanked else None))
            await self._journal(c, p.name, rel.version,
                                "yank release" if yanked else "unyank release", actor)
            extra = {"yanked_reason": reason} if yanked else {}
            await self._project_event(
                c, p.id, "project:release:yank" if yanked else "project:release:unyank",
                submitted_by=actor, canonical_version=rel.canonical_version, **extra)
            return True

    async def set_quarantined(self, project: str, quarantined: bool, actor: str) -> bool:
        p_, ro, u = ws.projects, ws.roles, ws.users
        async with self.engine.begin() as c:
            p = await self._need_project(c, project)
            if (p.lifecycle_status == _QUARANTINE) == quarantined:
                return False
            status = _QUARANTINE if quarantined else ws.LifecycleStatus.QuarantineExit
            note = (f"Quarantined by {actor}." if quarantined
                    else f"Quarantine cleared by {actor}.")
            await c.execute(sa.update(p_).where(p_.c.id == p.id).values(
                lifecycle_status=status, lifecycle_status_note=note,
                lifecycle_status_changed=_naive(None)))
            await self._project_event(
                c, p.id, "project:quarantine:enter" if quarantined else "project:quarantine:exit",
                submitted_by=actor)
            await self._journal(c, p.name, None, "project quarantined" if quarantined
                                else "project quarantine cleared", actor)
            if quarantined:
                users = sa.select(ro.c.user_id).where(ro.c.project_id == p.id)
                await c.execute(sa.update(u).where(u.c.id.in_(users)).values(is_frozen=True))
            return True

    # -- accounts ----------------------------------------------------------------

    async def _set_user_flag(self, username: str, column: str, value: bool) -> bool:
        u = ws.users
        async with self.engine.begin() as c:
            current = (await c.execute(sa.select(u.c[column])
                                       .where(u.c.username == username))).first()
            if current is None:
                raise StepFailed(f"account {username!r} does not exist on the index")
            if bool(current[0]) == value:
                return False
            await c.execute(sa.update(u).where(u.c.username == username)
                            .values({column: value}))
            return True

    async def set_frozen(self, username: str, frozen: bool, actor: str,
                         indexes: Sequence[str] = ()) -> bool:
        return await self._set_user_flag(username, "is_frozen", frozen)

    async def set_password_reset_prohibited(self, username: str, prohibited: bool,
                                            actor: str) -> bool:
        return await self._set_user_flag(username, "prohibit_password_reset", prohibited)

    async def unverify_email(self, email: str, actor: str) -> bool:
        e = ws.user_emails
        async with self.engine.begin() as c:
            row = (await c.execute(sa.select(e).where(
                sa.func.lower(e.c.email) == email.lower()))).first()
            if row is None:
                raise StepFailed(f"no account has the address {email!r}")
            if not row.verified:
                return False
            await c.execute(sa.update(e).where(e.c.id == row.id).values(
                verified=False, unverify_reason=ws.UnverifyReasons.DomainInvalid))
            return True
