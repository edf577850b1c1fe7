"""The ``warehouse`` backend: a Warehouse (PyPI) database, changed the way Warehouse does.

Tested against Warehouse's real schema (``tests/fixtures/warehouse-schema.sql``, built by
its migrations at pypi/warehouse 6b62157124ab7865029afeeadf282bce27d601d9) and against
the index double's SQLite copy. What each change writes is in warehouse_changes (admin
actions) and warehouse_restore (re-created rows); who it is recorded as, the journal's
lock, events and observations in warehouse_records; opening and checking the database in
warehouse_connect.

Each public change is one transaction that first checks the database and returns False
when it already was as asked, so a resumed playbook step never applies anything twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.names import canonicalize
from bot.store import warehouse as ws
from bot.store.db import create_engine
from playbooks.base import StepFailed
from playbooks.index_admin import warehouse_changes as changes
from playbooks.index_admin import warehouse_reads as reads
from playbooks.index_admin import warehouse_restore as restore
from playbooks.index_admin.base import (
    DomainUse,
    FileSpec,
    IndexAccount,
    IndexProject,
    MalwareReport,
    ProjectSpec,
    ReleaseSpec,
)
from playbooks.index_admin.warehouse_connect import open_engine
from playbooks.index_admin.warehouse_records import Author, find_author
from playbooks.storage.base import BlobStorage, blob_path

__all__ = ["FILES_PREFIX", "SERVICE_ACCOUNT", "WarehouseAdmin"]

FILES_PREFIX = "packages/"  # Warehouse's files.prefix: storage key = prefix + path
SERVICE_ACCOUNT = "admin"  # what Warehouse's tasks act as (IUserService.get_admin_user)


class WarehouseAdmin:
    """Changes a Warehouse database (PostgreSQL, or the index double's SQLite)."""

    kind = "warehouse"

    def __init__(self, engine: AsyncEngine, files: BlobStorage,
                 service_account: str = SERVICE_ACCOUNT) -> None:
        self.engine = engine
        self.files = files  # where the index serves blobs from (its bucket, or a directory)
        self.service_account = service_account

    @classmethod
    async def connect(cls, url: str, files: BlobStorage,
                      service_account: str = SERVICE_ACCOUNT) -> WarehouseAdmin:
        """Open and check the database (raises WarehouseUnavailable with the reason)."""
        return cls(await open_engine(url), files, service_account)

    @classmethod
    def open(cls, url: str, files: BlobStorage,
             service_account: str = SERVICE_ACCOUNT) -> WarehouseAdmin:
        """Open without checking (tests and benchmarks that built the database)."""
        return cls(create_engine(url), files, service_account)

    async def close(self) -> None:
        await self.engine.dispose()

    def unsupported(self, action: str) -> str | None:
        return None

    # -- who changes are recorded as (warehouse_records) --------------------------------

    def _no_author(self, actor: str) -> str:
        return (f"the Warehouse database has neither an account {actor!r} nor the service "
                f"account {self.service_account!r} (playbooks.warehouse_account) to record "
                "the change as made by")

    async def author_problem(self, actor: str) -> str | None:
        async with self.engine.connect() as c:
            found = await find_author(c, actor, self.service_account)
        return None if found is not None else self._no_author(actor)

    @asynccontextmanager
    async def _change(self, actor: str) -> AsyncIterator[tuple[AsyncConnection, Author]]:
        async with self.engine.begin() as c:
            author = await find_author(c, actor, self.service_account)
            if author is None:
                raise StepFailed(self._no_author(actor))
            yield c, author

    async def _project(self, c: AsyncConnection, name: str) -> sa.Row[object]:
        row = await reads.project_row(c, name)
        if row is None:
            raise StepFailed(f"project {name!r} does not exist on the index")
        return row

    async def _release(self, c: AsyncConnection, project: str, version: str
                       ) -> tuple[sa.Row[object], sa.Row[object]]:
        p = await self._project(c, project)
        rel = await reads.release_row(c, p.id, version)
        if rel is None:
            raise StepFailed(f"release {project} {version} does not exist on the index")
        return p, rel

    async def _user(self, c: AsyncConnection, username: str) -> sa.Row[object]:
        user = await reads.user_row(c, username)
        if user is None:
            raise StepFailed(f"account {username!r} does not exist on the index")
        return user

    # -- reads ---------------------------------------------------------------------------

    async def project(self, name: str) -> IndexProject | None:
        async with self.engine.connect() as c:
            return await reads.project(c, name)

    async def account(self, username: str) -> IndexAccount | None:
        async with self.engine.connect() as c:
            user = await reads.user_row(c, username)
            return None if user is None else await reads.account(c, user)

    async def email_owner(self, email: str) -> IndexAccount | None:
        u, e = ws.users, ws.user_emails
        async with self.engine.connect() as c:
            user = (await c.execute(sa.select(u).join(e, e.c.user_id == u.c.id).where(
                sa.func.lower(e.c.email) == email.lower()))).first()
            return None if user is None else await reads.account(c, user)

    async def email_domain(self, domain: str, account: str) -> DomainUse:
        async with self.engine.connect() as c:
            return await reads.domain_use(c, domain, account)

    async def malware_reports(self, project: str) -> tuple[MalwareReport, ...]:
        async with self.engine.connect() as c:
            p = await reads.project_row(c, project)
            if p is None:  # removed: its reports are still there, detached
                return await reads.orphaned_malware_reports(c, project)
            return await reads.malware_reports(c, p.id)

    async def project_name_prohibited(self, name: str) -> str | None:
        async with self.engine.connect() as c:
            row = await reads.prohibition(c, name)
        if row is None:
            return None
        kind = f", observation kind {row.observation_kind}" if row.observation_kind else ""
        return f"prohibited since {row.created:%Y-%m-%d}{kind}" + (
            f" ({row.comment})" if row.comment else "")

    async def fetch_file(self, project: str, version: str, filename: str) -> bytes | None:
        f, r, p = ws.release_files, ws.releases, ws.projects
        async with self.engine.connect() as c:
            path = (await c.execute(
                sa.select(f.c.path).join(r, r.c.id == f.c.release_id)
                .join(p, p.c.id == r.c.project_id)
                .where(p.c.normalized_name == canonicalize(project), f.c.filename == filename)
            )).scalar()
        return None if path is None else await self.files.get(FILES_PREFIX + path)

    # -- restore (warehouse_restore) ------------------------------------------------------

    async def create_project(self, spec: ProjectSpec, actor: str) -> bool:
        async with self._change(actor) as (c, author):
            return await restore.create_project(c, author, spec)

    async def create_release(self, project: str, spec: ReleaseSpec, actor: str) -> bool:
        async with self._change(actor) as (c, author):
            return await restore.create_release(c, author, await self._project(c, project),
                                                spec)

    async def add_file(self, project: str, spec: FileSpec, blob: bytes, actor: str) -> bool:
        path = blob_path(spec.blake2b_256, spec.filename)
        # The blob first: a committed row must never point at a missing object.
        await self.files.ensure(FILES_PREFIX + path, blob)
        async with self._change(actor) as (c, author):
            return await restore.add_file(c, author, project, spec, path)

    async def allow_project_name(self, name: str, actor: str) -> bool:
        async with self._change(actor) as (c, _):
            return await changes.allow_project_name(c, name)

    # -- yank, quarantine (warehouse_changes) -------------------------------------------

    async def set_yanked(self, project: str, version: str, yanked: bool, reason: str,
                         actor: str) -> bool:
        async with self._change(actor) as (c, author):
            p, rel = await self._release(c, project, version)
            return await changes.set_yanked(c, author, p, rel, yanked, reason)

    async def set_quarantined(self, project: str, quarantined: bool, actor: str) -> bool:
        async with self._change(actor) as (c, author):
            return await changes.set_project_quarantined(
                c, author, await self._project(c, project), quarantined)

    async def set_release_quarantined(self, project: str, version: str, quarantined: bool,
                                      actor: str) -> bool:
        async with self._change(actor) as (c, author):
            p, rel = await self._release(c, project, version)
            return await changes.set_release_quarantined(c, author, p, rel, quarantined)

    # -- accounts ------------------------------------------------------------------------

    async def set_frozen(self, username: str, frozen: bool, actor: str,
                         indexes: Sequence[str] = ()) -> bool:
        async with self._change(actor) as (c, _):
            return await changes.set_user_flag(c, await self._user(c, username), "is_frozen",
                                               frozen)

    async def set_password_reset_prohibited(self, username: str, prohibited: bool,
                                            actor: str) -> bool:
        async with self._change(actor) as (c, _):
            return await changes.set_user_flag(c, await self._user(c, username),
                                               "prohibit_password_reset", prohibited)

    async def prohibit_email_domain(self, domain: str, actor: str, comment: str) -> bool:
        async with self._change(actor) as (c, author):
            return await changes.prohibit_email_domain(c, author, domain, comment)

    async def unverify_email(self, email: str, actor: str, reason: str = "") -> bool:
        e = ws.user_emails
        async with self._change(actor) as (c, author):
            row = (await c.execute(sa.select(e).where(
                sa.func.lower(e.c.email) == email.lower()))).first()
            if row is None:
                raise StepFailed(f"no account has the address {email!r}")
            username = (await c.execute(sa.select(ws.users.c.username).where(
                ws.users.c.id == row.user_id))).scalar_one()
            return await changes.unverify_email(c, author, row, str(username), reason)

    # -- remove as malware ----------------------------------------------------------------

    async def freeze_for_malware(self, username: str, project: str, actor: str) -> bool:
        async with self._change(actor) as (c, author):
            return await changes.freeze_for_malware(c, author, await self._user(c, username),
                                                    project)

    async def record_malware_verdict(self, project: str, verdict: str, actor: str,
                                     report_ids: Sequence[str], extra: dict[str, object]
                                     ) -> bool:
        async with self._change(actor) as (c, author):
            return await changes.record_verdict(c, author, report_ids, verdict, extra)

    async def prohibit_project_name(self, name: str, actor: str,
                                    observation_kind: str | None) -> bool:
        async with self._change(actor) as (c, author):
            return await changes.prohibit_project_name(c, author, name, observation_kind)

    async def remove_project(self, project: str, actor: str) -> bool:
        async with self._change(actor) as (c, author):
            p = await reads.project_row(c, project)
            if p is None:
                return False
            await changes.remove_project(c, author, p)
            return True

    async def remove_release(self, project: str, version: str, actor: str,
                             reason: str) -> bool:
        async with self._change(actor) as (c, author):
            p = await reads.project_row(c, project)
            rel = None if p is None else await reads.release_row(c, p.id, version)
            if p is None or rel is None:
                return False
            await changes.remove_release(c, author, p, rel, reason)
            return True
