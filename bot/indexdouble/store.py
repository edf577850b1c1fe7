"""The index double's database: Warehouse's tables in a SQLite file, and a mutation API.

Every mutation changes the tables the way Warehouse does and writes ``journals``
rows with exactly the action strings Warehouse writes (checked against
pypi/warehouse 6b62157124ab7865029afeeadf282bce27d601d9: ``forklift/legacy.py``,
``packaging/services.py``, ``manage/views/__init__.py``, ``accounts/views.py``,
``utils/project.py``). Each mutation returns the serial of the last journal row it
wrote. Accounts and roles live in :mod:`.accounts`, the engine and journal writer in
:mod:`.core`. Blobs are written under ``files_dir/packages/<path>`` and, as on PyPI, are
never deleted when rows are. The read side (changelog, JSON API, simple API) comes
from :class:`~bot.indexdouble.reads.ReadMixin`.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version

from bot.store import warehouse as ws

from .accounts import AccountsMixin
from .core import naive_utc, normalize_name
from .reads import ReadMixin

__all__ = ["IndexDoubleStore", "classify_file", "normalize_name"]

_CHUNK = 50_000


def _version_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def classify_file(filename: str) -> tuple[ws.PackageType, str]:
    """(packagetype, python_version) the way uploaders report them to Warehouse."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        if len(parts) not in (5, 6):
            raise ValueError(f"invalid wheel filename {filename!r}")
        return ws.PackageType.bdist_wheel, parts[-3]
    if filename.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar")):
        return ws.PackageType.sdist, "source"
    if filename.endswith(".egg"):
        tags = [p for p in filename[:-4].split("-") if p.startswith("py")]
        return ws.PackageType.bdist_egg, tags[0][2:] if tags else "any"
    raise ValueError(f"unsupported distribution filename {filename!r}")


class IndexDoubleStore(AccountsMixin, ReadMixin):
    """Warehouse's tables in SQLite, changed through Warehouse's own operations."""

    # -- projects, releases, files -------------------------------------------

    def create_project(self, name: str, owner: str, at: datetime | None = None) -> int:
        """``packaging/services.py`` create_project: "create" then "add Owner <owner>"."""
        when = naive_utc(at)
        with self._tx() as c:
            uid = self._user_id(c, owner, at=when)
            pid = uuid.uuid4()
            c.execute(sa.insert(ws.projects).values(
                id=pid, name=name, normalized_name=normalize_name(name), created=when))
            self._journal(c, name, None, "create", owner, when)
            c.execute(sa.insert(ws.roles).values(role_name="Owner", user_id=uid, project_id=pid))
            return self._journal(c, name, None, f"add Owner {owner}", owner, when)

    def add_release(
        self,
        project: str,
        version: str,
        files: Sequence[tuple[str, bytes]] | None = None,
        uploader: str | None = None,
        requires_dist: Iterable[str] = (),
        at: datetime | None = None,
        *,
        summary: str | None = None,
        author_email: str | None = None,
        maintainer_email: str | None = None,
        requires_python: str | None = None,
        project_urls: dict[str, str] | None = None,
    ) -> int:
        """An upload: "new release" (if the release is new), then "add <pyver> file <fn>"."""
        when = naive_utc(at)
        with self._tx() as c:
            p = self._project(c, project)
            serial = p.last_serial
            try:
                rel = self._release(c, p.id, version)
                rid, requires_python = rel.id, rel.requires_python
            except KeyError:
                rid = self._insert_release(
                    c, p.id, version, when, uploader, summary=summary,
                    author_email=author_email, maintainer_email=maintainer_email,
                    requires_python=requires_python, requires_dist=list(requires_dist),
                    project_urls=project_urls or {})
                serial = self._journal(c, p.name, version, "new release", uploader, when)
            for filename, content in files or ():
                serial = self._add_file(c, p, rid, version, filename, content,
                                        requires_python, uploader, when)
            self._reorder(c, p.id)
            return int(serial)

    def _insert_release(self, c: sa.Connection, pid: uuid.UUID, version: str, when: datetime,
                        uploader: str | None, *, requires_dist: list[str],
                        project_urls: dict[str, str], **fields: str | None) -> uuid.UUID:
        did, rid = uuid.uuid4(), uuid.uuid4()
        c.execute(sa.insert(ws.release_descriptions).values(
            id=did, content_type="text/plain", raw="", html="", rendered_by="indexdouble"))
        uploader_id = self._user_id(c, uploader, at=when) if uploader else None
        c.execute(sa.insert(ws.releases).values(
            id=rid, project_id=pid, version=version,
            canonical_version=canonicalize_version(version),
            is_prerelease=ws.pep440_is_prerelease(version),
            created=when, description_id=did, uploader_id=uploader_id, **fields))
        for spec in requires_dist:
            c.execute(sa.insert(ws.release_dependencies).values(
                release_id=rid, kind=int(ws.DependencyKind.requires_dist), specifier=spec))
        for label, url in project_urls.items():
            c.execute(sa.insert(ws.release_urls).values(release_id=rid, name=label, url=url))
        return rid

    def _add_file(self, c: sa.Connection, p: sa.Row[Any], rid: uuid.UUID, version: str,
                  filename: str, content: bytes, requires_python: str | None,
                  uploader: str | None, when: datetime) -> int:
        reg = ws.file_registry
        if c.execute(sa.select(reg.c.id).where(reg.c.filename == filename)).first():
            raise ValueError(f"filename {filename!r} has already been used")
        packagetype, pyver = classify_file(filename)
        b2 = hashlib.blake2b(content, digest_size=32).hexdigest()
        path = f"{b2[:2]}/{b2[2:4]}/{b2[4:]}/{filename}"
        blob = self.files_dir / "packages" / path
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(content)
        # requires_python (from the release) and projects.total_size are the triggers' work.
        c.execute(sa.insert(ws.release_files).values(
            release_id=rid, python_version=pyver,
            packagetype=packagetype, filename=filename, path=path, size=len(content),
            md5_digest=hashlib.md5(content).hexdigest(),
            sha256_digest=hashlib.sha256(content).hexdigest(), blake2_256_digest=b2,
            upload_time=when, uploaded_via="indexdouble"))
        c.execute(sa.insert(reg).values(filename=filename))
        return self._journal(c, p.name, version, f"add {pyver} file {filename}", uploader, when)

    def _reorder(self, c: sa.Connection, pid: uuid.UUID) -> None:
        # Warehouse's _pypi_ordering, kept by a trigger: rank by version.
        r = ws.releases
        rows = c.execute(sa.select(r.c.id, r.c.version).where(r.c.project_id == pid)).all()
        for rank, row in enumerate(sorted(rows, key=lambda x: _version_key(x.version))):
            c.execute(sa.update(r).where(r.c.id == row.id).values(_pypi_ordering=rank))

    def remove_file(self, project: str, version: str, filename: str, actor: str | None = None,
                    at: datetime | None = None) -> int:
        """"remove file <filename>"; the row goes, the blob and file_registry entry stay."""
        f = ws.release_files
        with self._tx() as c:
            p = self._project(c, project)
            rel = self._release(c, p.id, version)
            row = c.execute(sa.select(f).where(
                f.c.release_id == rel.id, f.c.filename == filename)).one()
            serial = self._journal(c, p.name, rel.version, f"remove file {filename}", actor,
                                   naive_utc(at))
            c.execute(sa.delete(f).where(f.c.id == row.id))
            return serial

    def remove_release(self, project: str, version: str, actor: str | None = None,
                       at: datetime | None = None) -> int:
        """"remove release"; its files, dependencies and URLs go with it (ON DELETE CASCADE)."""
        with self._tx() as c:
            p = self._project(c, project)
            rel = self._release(c, p.id, version)
            serial = self._journal(c, p.name, rel.version, "remove release", actor,
                                   naive_utc(at))
            self._delete_releases(c, p.id, [rel.id])
            self._reorder(c, p.id)
            return serial

    def remove_project(self, project: str, actor: str | None = None,
                       at: datetime | None = None) -> int:
        """"remove project"; every row of the project goes, journals and blobs stay."""
        with self._tx() as c:
            p = self._project(c, project)
            serial = self._journal(c, p.name, None, "remove project", actor, naive_utc(at))
            r = ws.releases
            ids = list(c.execute(sa.select(r.c.id).where(r.c.project_id == p.id)).scalars())
            self._delete_releases(c, p.id, ids)
            for table in (ws.roles, ws.role_invitations):
                c.execute(sa.delete(table).where(table.c.project_id == p.id))
            c.execute(sa.delete(ws.project_events).where(ws.project_events.c.source_id == p.id))
            c.execute(sa.delete(ws.projects).where(ws.projects.c.id == p.id))
            return serial

    def _delete_releases(self, c: sa.Connection, pid: uuid.UUID, ids: list[uuid.UUID]) -> None:
        # SQLite does not enforce the schema's ON DELETE CASCADE unless asked; do it here.
        # (Descriptions and total_size follow by triggers, as in Warehouse.)
        f, r = ws.release_files, ws.releases
        for table in (f, ws.release_dependencies, ws.release_urls):
            c.execute(sa.delete(table).where(table.c.release_id.in_(ids)))
        c.execute(sa.delete(r).where(r.c.id.in_(ids)))

    def _set_release(self, project: str, version: str, action: str, actor: str | None,
                     when: datetime, **values: Any) -> int:
        with self._tx() as c:
            p = self._project(c, project)
            rel = self._release(c, p.id, version)
            serial = self._journal(c, p.name, rel.version, action, actor, when)
            c.execute(sa.update(ws.releases).where(ws.releases.c.id == rel.id).values(**values))
            return serial

    def yank(self, project: str, version: str, reason: str = "", actor: str | None = None,
             at: datetime | None = None) -> int:
        """"yank release": yanked, yanked_reason, yanked_date."""
        when = naive_utc(at)
        return self._set_release(project, version, "yank release", actor, when, yanked=True,
                                 yanked_reason=reason, yanked_date=when)

    def unyank(self, project: str, version: str, actor: str | None = None,
               at: datetime | None = None) -> int:
        """"unyank release"."""
        return self._set_release(project, version, "unyank release", actor, naive_utc(at),
                                 yanked=False, yanked_reason="", yanked_date=None)

    def quarantine_project(self, project: str, actor: str | None = None,
                           at: datetime | None = None) -> int:
        """"project quarantined"; like Warehouse, also freezes the project's users."""
        with self._tx() as c:
            p = self._project(c, project)
            when = naive_utc(at)
            self._set_lifecycle(c, p.id, ws.LifecycleStatus.QuarantineEnter,
                                f"Quarantined by {actor or 'admin'}.", when)
            users = sa.select(ws.roles.c.user_id).where(ws.roles.c.project_id == p.id)
            c.execute(sa.update(ws.users).where(ws.users.c.id.in_(users)).values(is_frozen=True))
            return self._journal(c, p.name, None, "project quarantined", actor, when)

    def clear_quarantine(self, project: str, actor: str | None = None,
                         at: datetime | None = None) -> int:
        """"project quarantine cleared" (lifecycle_status quarantine-exit)."""
        with self._tx() as c:
            p = self._project(c, project)
            when = naive_utc(at)
            self._set_lifecycle(c, p.id, ws.LifecycleStatus.QuarantineExit,
                                f"Quarantine cleared by {actor or 'admin'}.", when)
            return self._journal(c, p.name, None, "project quarantine cleared", actor, when)

    def _set_lifecycle(self, c: sa.Connection, pid: uuid.UUID, status: ws.LifecycleStatus,
                       note: str, when: datetime) -> None:
        c.execute(sa.update(ws.projects).where(ws.projects.c.id == pid).values(
            lifecycle_status=status, lifecycle_status_note=note, lifecycle_status_changed=when))

    # -- raw journals (add_journal is in core) --------------------------------

    def bulk_journals(self, rows: Iterable[tuple[str, str | None, int, str]]) -> int:
        """Insert many ``(name, version, unix_ts, action)`` journal rows fast; returns count."""
        stamp_cache: dict[int, str] = {}

        def stamp(ts: int) -> str:
            # SQLAlchemy's SQLite DateTime text format, so reads parse it back.
            s = stamp_cache.get(ts)
            if s is None:
                if len(stamp_cache) > 4096:
                    stamp_cache.clear()
                s = stamp_cache[ts] = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime(ts))
            return s

        count = 0
        sql = "INSERT INTO journals (name, version, submitted_date, action) VALUES (?, ?, ?, ?)"
        with self._tx() as c:
            # The per-row last_serial trigger triples the time of a million rows: it is
            # suspended for the batch (inside the transaction) and its work done once below.
            c.exec_driver_sql("DROP TRIGGER IF EXISTS update_project_last_serial")
            cursor = c.connection.driver_connection.cursor()  # type: ignore[union-attr]
            batch: list[tuple[str, str | None, str, str]] = []
            for name, version, ts, action in rows:
                batch.append((name, version, stamp(int(ts)), action))
                if len(batch) >= _CHUNK:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch.clear()
            cursor.executemany(sql, batch)
            count += len(batch)
            j, p = ws.journals, ws.projects
            c.execute(sa.update(p).values(last_serial=sa.func.coalesce(
                sa.select(sa.func.max(j.c.id)).where(j.c.name == p.c.name).scalar_subquery(),
                p.c.last_serial)))
            c.exec_driver_sql(ws.LAST_SERIAL_TRIGGER)
        return count

