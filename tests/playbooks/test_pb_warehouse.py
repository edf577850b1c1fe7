"""yank, freeze, unverify-email, quarantine (and restore) through the warehouse backend:
on the index double's SQLite and on a Warehouse-shaped PostgreSQL database."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import sqlalchemy as sa
from pb_dists import release_files
from sqlalchemy.ext.asyncio import create_async_engine

from _indexdouble_fixtures import IndexDouble
from bot.actions import Actions, PlanRefused
from bot.store.db import create_engine, session_factory
from bot.store.models import File, Project, Release
from bot.store.playbook_models import RunStatus
from playbooks.base import Target
from playbooks.index_admin import warehouse_schema as ws
from playbooks.index_admin.warehouse import WarehouseAdmin
from playbooks.settings import PlaybooksSection
from playbooks.storage.filesystem import FilesystemStorage
from playbooks.wiring import Backends

pytestmark = pytest.mark.service
ONE_ADMIN = PlaybooksSection(two_admin_approval=False)


@pytest.fixture
async def live(index_double: IndexDouble, sqlite_url: str) -> AsyncIterator[Actions]:
    """A live project on the double, owned by mallory (with a verified address)."""
    store = index_double.store
    store.add_user("alice", "alice@example.org")
    store.add_user("mallory", "mallory@expired.example")
    store.add_email("mallory", "m2@expired.example", verified=True)
    store.create_project("demo", "mallory")
    store.add_release("demo", "1.0", release_files("demo", "1.0"), uploader="mallory")
    files = FilesystemStorage(store.files_dir)
    engine = create_engine(sqlite_url)
    actions = Actions(session_factory(engine),
                      Backends(WarehouseAdmin.open(f"sqlite+aiosqlite:///{store.db_path}", files),
                               files), ONE_ADMIN, ["alice", "bob"])
    yield actions
    await actions.backends.close()
    await engine.dispose()


async def go(actions: Actions, playbook: str, target: Target, reason: str = "incident 7",
             **options: Any) -> str:
    run = await actions.request("alice", playbook, target, reason=reason, options=options)
    done = await actions.run(run.id, "alice")
    assert done.status == RunStatus.DONE and done.verified, (done.error, done.verification)
    return done.plan.text()


def rows(double: IndexDouble, table: sa.Table, *columns: str) -> list[tuple[Any, ...]]:
    with double.store.engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.select(*(table.c[n] for n in columns)))]


def journal_since(double: IndexDouble, serial: int) -> list[tuple[Any, ...]]:
    j = ws.journals
    with double.store.engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.select(j.c.name, j.c.version, j.c.action,
                                                      j.c.submitted_by)
                                            .where(j.c.id > serial).order_by(j.c.id))]


async def test_yank_and_unyank(live: Actions, index_double: IndexDouble) -> None:
    serial = index_double.store.last_serial()
    with pytest.raises(PlanRefused, match="needs a reason"):
        await live.request("alice", "yank", Target(project="demo", version="1.0"), reason="")
    await go(live, "yank", Target(project="demo", version="1.0"), reason="malicious upload")
    async with aiohttp.ClientSession() as http, \
            http.get(f"{index_double.url}/pypi/demo/1.0/json") as resp:
        info = (await resp.json())["info"]
    assert info["yanked"] is True and info["yanked_reason"] == "malicious upload"
    assert journal_since(index_double, serial) == [("demo", "1.0", "yank release", "alice")]
    events = rows(index_double, ws.project_events, "tag", "additional")
    assert ("project:release:yank", {"submitted_by": "alice", "canonical_version": "1",
                                     "yanked_reason": "malicious upload"}) in events
    again = await live.plan("alice", "yank", Target(project="demo", version="1.0"),
                            reason="malicious upload")
    assert again.steps == () and "already yanked" in again.text()

    await go(live, "unyank", Target(project="demo", version="1.0"), reason="false alarm")
    assert rows(index_double, ws.releases, "yanked", "yanked_reason", "yanked_date") == [
        (False, "", None)]
    assert journal_since(index_double, serial)[-1] == ("demo", "1.0", "unyank release", "alice")


async def test_freeze_unverify_block_reset_then_unfreeze(live: Actions,
                                                         index_double: IndexDouble) -> None:
    text = await go(live, "freeze", Target(account="mallory"), unverify_emails=True,
                    block_password_reset=True)
    assert "unverify mallory@expired.example" in text and "unverify m2@expired.example" in text
    user = rows(index_double, ws.users, "username", "is_frozen", "prohibit_password_reset")
    assert ("mallory", True, True) in user and ("alice", False, False) in user
    emails = dict((e, (v, r)) for e, v, r in rows(index_double, ws.user_emails, "email",
                                                   "verified", "unverify_reason"))
    assert emails["mallory@expired.example"] == (False, ws.UnverifyReasons.DomainInvalid)
    assert emails["alice@example.org"] == (True, None)

    text = await go(live, "unfreeze", Target(account="mallory"), reason="owner proved identity")
    assert "allow password resets" in text
    user = rows(index_double, ws.users, "username", "is_frozen", "prohibit_password_reset")
    assert ("mallory", False, False) in user
    # Addresses stay unverified: the owner verifies them again.
    assert all(not v for e, v in rows(index_double, ws.user_emails, "email", "verified")
               if "expired" in e)


async def test_unverify_one_address(live: Actions, index_double: IndexDouble) -> None:
    await go(live, "unverify-email", Target(email="M2@expired.example"))
    emails = dict(rows(index_double, ws.user_emails, "email", "verified"))
    assert emails == {"alice@example.org": True, "mallory@expired.example": True,
                      "m2@expired.example": False}
    with pytest.raises(PlanRefused, match="no account has"):
        await live.request("alice", "unverify-email", Target(email="x@nowhere.example"),
                           reason="r")


async def test_quarantine_and_release(live: Actions, index_double: IndexDouble) -> None:
    serial = index_double.store.last_serial()
    text = await go(live, "quarantine", Target(project="demo"))
    assert "also freezes the accounts with a role on it: mallory" in text
    async with aiohttp.ClientSession() as http, \
            http.get(f"{index_double.url}/pypi/demo/json") as resp:
        assert resp.status == 404  # hidden from installers
    assert rows(index_double, ws.projects, "lifecycle_status", "lifecycle_status_note") == [
        (ws.LifecycleStatus.QuarantineEnter, "Quarantined by alice.")]
    assert ("mallory", True) in rows(index_double, ws.users, "username", "is_frozen")
    await go(live, "release-quarantine", Target(project="demo"))
    assert [a for _, _, a, _ in journal_since(index_double, serial)] == [
        "project quarantined", "project quarantine cleared"]
    tags = [t for (t,) in rows(index_double, ws.project_events, "tag")]
    assert tags[-2:] == ["project:quarantine:enter", "project:quarantine:exit"]


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
async def warehouse_pg() -> AsyncIterator[str]:
    """A fresh PostgreSQL database with the Warehouse-shaped schema and two users."""
    server = os.environ.get("WARDEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
    try:
        admin = await asyncpg.connect(f"{server}/postgres", timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL at {server}: {exc}")
    name = f"warehouse_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = server.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    engine = create_async_engine(url)
    try:
        async with engine.begin() as c:
            await c.execute(sa.text("CREATE EXTENSION IF NOT EXISTS citext"))
            await c.run_sync(ws.metadata.create_all)
            for username in ("mallory", "admin"):
                await c.execute(sa.insert(ws.users).values(username=username, name="",
                                                           password="!", is_active=True))
        await engine.dispose()
        yield url
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def seed_ledger(sessions: Any, files_dir: Path) -> dict[str, bytes]:
    """The ledger of a project removed from the index; its blobs still in storage."""
    removed = datetime(2022, 7, 8, tzinfo=UTC)
    project = Project(name="Left_Pad", normalized_name="left-pad", removed_at=removed,
                      critical=True, releases=[])
    content: dict[str, bytes] = {}
    for version in ("0.9", "1.0"):
        release = Release(version=version, removed_at=removed, requires_dist=[], files=[])
        for filename, data in release_files("left-pad", version):
            b2 = hashlib.blake2b(data, digest_size=32).hexdigest()
            path = f"packages/{b2[:2]}/{b2[2:4]}/{b2[4:]}/{filename}"
            (files_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (files_dir / path).write_bytes(data)
            release.files.append(File(
                filename=filename, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                blake2b_256=b2, path=path, removed_at=removed,
                packagetype="bdist_wheel" if filename.endswith(".whl") else "sdist",
                python_version="py3" if filename.endswith(".whl") else "source",
                upload_time=datetime(2022, 1, 1, tzinfo=UTC)))
            content[filename] = data
        project.releases.append(release)
    async with sessions.begin() as s:
        s.add(project)
    return content


async def test_warehouse_backend_on_postgresql(warehouse_pg: str, sqlite_url: str,
                                               tmp_path: Path) -> None:
    engine = create_engine(sqlite_url)
    sessions = session_factory(engine)
    content = await seed_ledger(sessions, tmp_path)
    files = FilesystemStorage(tmp_path)
    actions = Actions(sessions, Backends(WarehouseAdmin.open(warehouse_pg, files), files),
                      ONE_ADMIN, ["alice"])
    try:
        await go(actions, "restore", Target(project="left-pad"))
        await go(actions, "yank", Target(project="left-pad", version="0.9"), reason="broken")
        await go(actions, "quarantine", Target(project="left-pad"))
        await go(actions, "freeze", Target(account="mallory"), block_password_reset=True)
        pg = create_async_engine(warehouse_pg)
        async with pg.connect() as c:
            restored = {r.filename: (r.sha256_digest, r.blake2_256_digest, r.path) for r in
                        await c.execute(sa.select(ws.release_files))}
            journal = [(r.version, r.action, r.submitted_by) for r in await c.execute(
                sa.select(ws.journals).order_by(ws.journals.c.id))]
            status = (await c.execute(sa.select(ws.projects.c.lifecycle_status))).scalar()
            frozen = (await c.execute(sa.select(ws.users.c.is_frozen, ws.users.c.username)
                                      .order_by(ws.users.c.username))).all()
        await pg.dispose()
        assert {n: (s, b) for n, (s, b, _) in restored.items()} == {
            n: (hashlib.sha256(d).hexdigest(), hashlib.blake2b(d, digest_size=32).hexdigest())
            for n, d in content.items()}
        assert all(p.endswith("/" + n) and not p.startswith("packages/")
                   for n, (_, _, p) in restored.items())
        # "alice" has no Warehouse account: journals go in as Warehouse's admin user.
        assert journal[0] == (None, "create", "admin")
        assert [a for _, a, _ in journal].count("new release") == 2
        assert ("0.9", "yank release", "admin") in journal
        assert journal[-1] == (None, "project quarantined", "admin")
        assert status is ws.LifecycleStatus.QuarantineEnter
        assert frozen == [(False, "admin"), (True, "mallory")]
    finally:
        await actions.backends.close()
        await engine.dispose()
