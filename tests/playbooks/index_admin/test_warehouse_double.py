"""yank, freeze, unverify-email, quarantine and restore through the warehouse backend on
the index double's SQLite (Warehouse's real schema in PostgreSQL: test_wh_playbooks.py),
including the double's copies of Warehouse's triggers (total_size, last_serial)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from bot.actions import Actions, PlanRefused
from bot.store import warehouse as ws
from bot.store.db import create_engine, session_factory
from bot.store.playbook_models import RunStatus
from playbooks.base import Target
from playbooks.index_admin.warehouse import WarehouseAdmin
from playbooks.settings import PlaybooksSection
from playbooks.storage.filesystem import FilesystemStorage
from playbooks.wiring import Backends
from tests.support.dists import release_files
from tests.support.indexdouble import IndexDouble

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
    assert "prohibit email domain expired.example" in text
    assert rows(index_double, ws.prohibited_email_domains, "domain", "comment") == [
        ("expired.example", "frozen")]
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


async def test_quarantine_and_unquarantine(live: Actions, index_double: IndexDouble) -> None:
    serial = index_double.store.last_serial()
    text = await go(live, "quarantine", Target(project="demo"))
    assert "also freezes the accounts with a role on it: mallory" in text
    async with aiohttp.ClientSession() as http, \
            http.get(f"{index_double.url}/pypi/demo/json") as resp:
        assert resp.status == 404  # hidden from installers
    assert rows(index_double, ws.projects, "lifecycle_status", "lifecycle_status_note") == [
        (ws.LifecycleStatus.QuarantineEnter, "Quarantined by alice.")]
    assert ("mallory", True) in rows(index_double, ws.users, "username", "is_frozen")
    await go(live, "unquarantine", Target(project="demo"))
    assert [a for _, _, a, _ in journal_since(index_double, serial)] == [
        "project quarantined", "project quarantine cleared"]
    tags = [t for (t,) in rows(index_double, ws.project_events, "tag")]
    assert tags[-2:] == ["project:quarantine:enter", "project:quarantine:exit"]


async def test_triggers_of_the_double_keep_total_size_and_last_serial(
        live: Actions, index_double: IndexDouble) -> None:
    """The double's SQLite copies of Warehouse's triggers: a restore (which never writes
    total_size or last_serial itself) leaves both right."""
    store = index_double.store
    size = sum(len(data) for _, data in release_files("demo", "1.0"))
    assert rows(index_double, ws.projects, "total_size") == [(size,)]
    store.remove_file("demo", "1.0", "demo-1.0.tar.gz", actor="mallory")
    sdist = dict(release_files("demo", "1.0"))["demo-1.0.tar.gz"]
    assert rows(index_double, ws.projects, "total_size") == [(size - len(sdist),)]
    await go(live, "remove-malware", Target(project="demo", version="1.0"), reason="malware")
    assert rows(index_double, ws.projects, "total_size", "last_serial") == [
        (0, store.last_serial())]
    assert rows(index_double, ws.release_descriptions, "id") == []  # orphan trigger
