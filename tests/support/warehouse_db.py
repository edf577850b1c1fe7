"""Warehouse's real schema in PostgreSQL, for the tests of the ``warehouse`` backend.

- ``create_template`` loads tests/fixtures/warehouse-schema.sql (Warehouse's own
  migrations at 6b62157) into a database that each test clones (see conftest).
- ``Seeder`` writes rows the way Warehouse writes them, in raw SQL against the real
  tables (not through bot.store.warehouse, so the backend meets rows it
  did not write itself): ``canonical_version`` from ``canonicalize_version``, journals
  submitted by existing users, and no value that a trigger fills (``normalized_name``,
  ``sitemap_bucket``, ``total_size``, ``last_serial``, ``is_prerelease``,
  ``release_files.requires_python``).
- ``snapshot`` reads every table; ``diff`` says exactly which rows a playbook added,
  removed or changed, so a test can assert that nothing else moved.
- ``feed_ledger`` gives the ledger what the feed would learn from these journals.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from packaging.utils import canonicalize_version
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events import parse_action
from bot.ledger import Ledger, TrackedProjects
from bot.store.models import File
from tests.support import REPO

SCHEMA = REPO / "tests" / "fixtures" / "warehouse-schema.sql"
T0 = datetime(2024, 3, 1, 12, 0)  # naive UTC, as Warehouse stores time


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def load_schema(database_dsn: str) -> None:
    conn = await asyncpg.connect(database_dsn)
    try:
        await conn.execute(SCHEMA.read_text())
    finally:
        await conn.close()


# -- seeding ----------------------------------------------------------------------------


@dataclass
class Seeder:
    """Rows as Warehouse's code writes them (the functions named in each docstring)."""

    conn: asyncpg.Connection
    files_dir: Path
    clock: datetime = T0
    blobs: dict[str, bytes] = field(default_factory=dict)  # filename -> content

    def _tick(self) -> datetime:
        self.clock += timedelta(minutes=1)
        return self.clock

    async def journal(self, name: str, version: str | None, action: str, by: str) -> int:
        """``JournalEntry(...)``; last_serial follows by trigger."""
        return int(await self.conn.fetchval(
            "INSERT INTO journals (name, version, action, submitted_date, submitted_by) "
            "VALUES ($1, $2, $3, $4, $5) RETURNING id", name, version, action, self._tick(), by))

    async def event(self, table: str, source: uuid.UUID, tag: str,
                    additional: dict[str, Any]) -> None:
        await self.conn.execute(f"INSERT INTO {table} (source_id, tag, time, additional) "
                                "VALUES ($1, $2, $3, $4::jsonb)", source, tag, self._tick(),
                                json.dumps(additional))

    async def user(self, username: str, *emails: tuple[str, bool], active: bool = True,
                   frozen: bool = False) -> uuid.UUID:
        """A registered account (``accounts/services.py`` create_user + add_email)."""
        uid: uuid.UUID = await self.conn.fetchval(
            "INSERT INTO users (username, name, password, is_active, is_frozen, date_joined) "
            "VALUES ($1, '', '!', $2, $3, $4) RETURNING id", username, active, frozen,
            self._tick())
        await self.event("user_events", uid, "account:create", {})
        for i, (email, verified) in enumerate(emails):
            await self.conn.execute(
                'INSERT INTO user_emails (user_id, email, "primary", verified) '
                "VALUES ($1, $2, $3, $4)", uid, email, i == 0, verified)
            await self.event("user_events", uid, "account:email:add", {"email": email})
        return uid

    async def project(self, name: str, owner: str) -> uuid.UUID:
        """``packaging/services.py`` create_project with ``creator_is_owner``."""
        pid: uuid.UUID = await self.conn.fetchval(
            "INSERT INTO projects (name, created) VALUES ($1, $2) RETURNING id", name,
            self._tick())
        owner_id = await self.conn.fetchval("SELECT id FROM users WHERE username = $1", owner)
        await self.journal(name, None, "create", owner)
        await self.event("project_events", pid, "project:create", {"created_by": owner})
        await self.conn.execute("INSERT INTO roles (role_name, user_id, project_id) "
                                "VALUES ('Owner', $1, $2)", owner_id, pid)
        await self.journal(name, None, f"add Owner {owner}", owner)
        await self.event("project_events", pid, "project:role:add", {
            "submitted_by": owner, "role_name": "Owner", "target_user": owner})
        return pid

    async def release(self, project: str, version: str, uploader: str,
                      files: list[tuple[str, bytes]], requires_python: str | None = None
                      ) -> uuid.UUID:
        """An upload (``forklift/legacy.py`` file_upload): the release, then its files."""
        pid, name = await self.conn.fetchrow("SELECT id, name FROM projects WHERE "
                                             "normalized_name = normalize_pep426_name($1)",
                                             project)
        uid = await self.conn.fetchval("SELECT id FROM users WHERE username = $1", uploader)
        did = await self.conn.fetchval(
            "INSERT INTO release_descriptions (content_type, raw, html, rendered_by) "
            "VALUES ('text/plain', '', '', 'readme 45') RETURNING id")
        count = await self.conn.fetchval("SELECT count(*) FROM releases WHERE project_id = $1",
                                         pid)
        rid: uuid.UUID = await self.conn.fetchval(
            "INSERT INTO releases (project_id, version, canonical_version, description_id, "
            "uploader_id, uploaded_via, requires_python, created, _pypi_ordering) "
            "VALUES ($1, $2, $3, $4, $5, 'twine/5.0.0', $6, $7, $8) RETURNING id",
            pid, version, canonicalize_version(version), did, uid, requires_python,
            self._tick(), count)
        await self.conn.execute("INSERT INTO release_dependencies (release_id, kind, specifier) "
                                "VALUES ($1, 4, 'attrs>=20')", rid)
        await self.event("project_events", pid, "project:release:add", {
            "submitted_by": uploader, "canonical_version": canonicalize_version(version),
            "publisher_url": None, "uploaded_via_trusted_publisher": False})
        await self.journal(name, version, "new release", uploader)
        for filename, content in files:
            await self.file(pid, name, rid, version, filename, content, uploader)
        return rid

    async def file(self, pid: uuid.UUID, name: str, rid: uuid.UUID, version: str,
                   filename: str, content: bytes, uploader: str) -> None:
        b2 = hashlib.blake2b(content, digest_size=32).hexdigest()
        path = f"{b2[:2]}/{b2[2:4]}/{b2[4:]}/{filename}"
        blob = self.files_dir / "packages" / path
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(content)
        self.blobs[filename] = content
        wheel = filename.endswith(".whl")
        pyver = filename[:-4].split("-")[-3] if wheel else "source"
        fid = await self.conn.fetchval(
            "INSERT INTO release_files (release_id, python_version, packagetype, filename, "
            "path, size, md5_digest, sha256_digest, blake2_256_digest, upload_time, "
            "uploaded_via) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'twine/5.0.0') "
            "RETURNING id", rid, pyver, "bdist_wheel" if wheel else "sdist", filename, path,
            len(content), hashlib.md5(content).hexdigest(), hashlib.sha256(content).hexdigest(),
            b2, self._tick())
        await self.conn.execute("INSERT INTO file_registry (filename) VALUES ($1)", filename)
        await self.event("file_events", fid, "file:add", {
            "filename": filename, "submitted_by": uploader,
            "canonical_version": canonicalize_version(version), "publisher_url": None,
            "project_id": str(pid), "uploaded_via_trusted_publisher": False})
        await self.journal(name, version, f"add {pyver} file {filename}", uploader)

    async def remove_file(self, project: str, filename: str, by: str) -> None:
        """``admin/views/projects.py`` delete file: journal "remove file <name>"."""
        name, version, fid = await self.conn.fetchrow(
            "SELECT p.name, r.version, f.id FROM release_files f JOIN releases r ON "
            "r.id = f.release_id JOIN projects p ON p.id = r.project_id WHERE f.filename = $1",
            filename)
        await self.journal(name, version, f"remove file {filename}", by)
        await self.conn.execute("DELETE FROM release_files WHERE id = $1", fid)

    async def malware_report(self, project: str, reporter: str, inspector_url: str) -> uuid.UUID:
        """An ``is_malware`` observation (``HasObservations.record_observation``)."""
        pid, name = await self.conn.fetchrow("SELECT id, name FROM projects WHERE "
                                             "normalized_name = normalize_pep426_name($1)",
                                             project)
        association = await self.conn.fetchval(
            "INSERT INTO observer_association (discriminator) VALUES ('user') RETURNING id")
        observer = await self.conn.fetchval(
            "INSERT INTO observers (_association_id) VALUES ($1) RETURNING id", association)
        await self.conn.execute("UPDATE users SET observer_association_id = $1 "
                                "WHERE username = $2", association, reporter)
        oid: uuid.UUID = await self.conn.fetchval(
            "INSERT INTO project_observations (related_id, related_name, observer_id, kind, "
            "summary, payload, additional) VALUES ($1, $2, $3, 'is_malware', $4, $5::jsonb, "
            "$6::jsonb) RETURNING id", pid, f"Project(name={name!r})", observer,
            "steals credentials", json.dumps({"inspector_url": inspector_url}),
            json.dumps({"helpscout_conversation_url": "https://api.helpscout.net/v2/"
                                                      "conversations/1"}))
        return oid


# -- snapshots and diffs ----------------------------------------------------------------


Row = dict[str, Any]
Snapshot = dict[str, dict[Any, Row]]


def _plain(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)  # jsonb arrives as text
        except ValueError:
            return value
    return value


async def snapshot(url: str) -> Snapshot:
    """Every row of every table, keyed by id (or by the whole row where there is none)."""
    conn = await asyncpg.connect(dsn(url))
    try:
        tables = [r["table_name"] for r in await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")]
        result: Snapshot = {}
        for table in tables:
            rows = [{k: _plain(v) for k, v in dict(r).items()}
                    for r in await conn.fetch(f'SELECT * FROM "{table}"')]
            result[table] = {(r["id"] if "id" in r else repr(sorted(r.items()))): r
                             for r in rows}
        return result
    finally:
        await conn.close()


@dataclass
class TableDiff:
    added: list[Row] = field(default_factory=list)
    removed: list[Row] = field(default_factory=list)
    changed: list[dict[str, tuple[Any, Any]]] = field(default_factory=list)


def diff(before: Snapshot, after: Snapshot) -> dict[str, TableDiff]:
    """What changed, per table (tables with no change are left out)."""
    result: dict[str, TableDiff] = {}
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        d = TableDiff(
            added=[new[k] for k in new if k not in old],
            removed=[old[k] for k in old if k not in new],
            changed=[{c: (old[k][c], new[k][c]) for c in new[k] if old[k][c] != new[k][c]}
                     for k in new if k in old and old[k] != new[k]])
        if d.added or d.removed or d.changed:
            result[table] = d
    return result


def pick(rows: list[Row], *columns: str) -> list[tuple[Any, ...]]:
    return sorted((tuple(r[c] for c in columns) for r in rows), key=repr)


def recent(value: Any) -> bool:
    """A timestamp written just now (naive UTC, or local time for now())."""
    if not isinstance(value, datetime):
        return False
    now = datetime.now(UTC).replace(tzinfo=None)
    return abs(now - value) < timedelta(hours=15)  # covers a server TimeZone off UTC


# -- the ledger, as the feed would fill it ------------------------------------------------


async def feed_ledger(sessions: async_sessionmaker[AsyncSession], url: str, project: str,
                      since: int = 0) -> int:
    """Apply the project's journals after ``since`` to the ledger (and, the first time,
    its files as the JSON API would list them); returns the last serial applied."""
    conn = await asyncpg.connect(dsn(url))
    try:
        journals = await conn.fetch(
            "SELECT id, name, version, action, submitted_date FROM journals WHERE id > $1 "
            "AND normalize_pep426_name(name) = normalize_pep426_name($2) ORDER BY id",
            since, project)
        files = await conn.fetch(
            "SELECT r.version, f.* FROM release_files f JOIN releases r ON r.id = f.release_id "
            "JOIN projects p ON p.id = r.project_id WHERE p.normalized_name = "
            "normalize_pep426_name($1)", project)
    finally:
        await conn.close()
    async with sessions.begin() as s:
        ledger = Ledger(s, TrackedProjects([project]))
        await ledger.track(project, T0.replace(tzinfo=UTC), critical_reason="test")
        for j in journals:
            await ledger.apply_event(parse_action(j["id"], j["submitted_date"].replace(
                tzinfo=UTC), j["name"], j["version"], j["action"]))
        if since == 0:
            known = await ledger.project(project, with_files=True)
            assert known is not None
            by_version = {r.version: r for r in known.releases}
            for f in files:
                by_version[f["version"]].files.append(File(
                    filename=f["filename"], packagetype=f["packagetype"],
                    python_version=f["python_version"], size=f["size"],
                    requires_python=f["requires_python"],
                    sha256=f["sha256_digest"], blake2b_256=f["blake2_256_digest"],
                    md5=f["md5_digest"], upload_time=f["upload_time"].replace(tzinfo=UTC),
                    path="packages/" + f["path"]))
    return max((j["id"] for j in journals), default=since)
