"""The index double over real HTTP: changelog, JSON API, simple API, files, faults, CLI."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
import xmlrpc.client
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

import aiohttp
import asyncpg
import defusedxml.ElementTree
import pytest
import sqlalchemy as sa
from defusedxml import DTDForbidden, EntitiesForbidden
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import CreateTable

from bot.indexdouble import IndexDoubleServer, IndexDoubleStore
from bot.store import warehouse as ws
from tests.support import REPO
from tests.support.indexdouble import IndexDouble, IndexDoubleProcess, start_index_double_process

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SDIST = ("demo_pkg-1.0.tar.gz", b"sdist bytes " * 50)
WHEEL = ("demo_pkg-1.0-py3-none-any.whl", b"wheel bytes " * 70)


async def rpc(session: aiohttp.ClientSession, url: str, method: str, *params: Any) -> Any:
    async with session.post(f"{url}/pypi", data=xmlrpc.client.dumps(params, method),
                            headers={"Content-Type": "text/xml"}) as resp:
        assert resp.status == 200
        return xmlrpc.client.loads(await resp.read())[0][0]


def seeded(d: IndexDouble) -> IndexDoubleStore:
    d.store.add_user("alice", "alice@example.org", at=T0)
    d.store.create_project("Demo_Pkg", "alice", at=T0)
    d.store.add_release("demo-pkg", "1.0", [SDIST, WHEEL], uploader="alice", at=T0,
                        requires_dist=["requests>=2"], requires_python=">=3.9",
                        summary="A demo", author_email="alice@example.org",
                        project_urls={"Source": "https://example.org/src"})
    return d.store


def journal_rows(store: IndexDoubleStore, since: int = 0) -> list[Any]:
    j = ws.journals
    with store.engine.connect() as c:
        return list(c.execute(sa.select(j).where(j.c.id > since).order_by(j.c.id)))


# -- changelog --------------------------------------------------------------------


async def test_create_and_upload_journals_over_xmlrpc(index_double: IndexDouble) -> None:
    seeded(index_double)
    async with aiohttp.ClientSession() as s:
        entries = await rpc(s, index_double.url, "changelog_since_serial", 0)
        assert await rpc(s, index_double.url, "changelog_last_serial") == 5
    ts = int(T0.timestamp())
    assert entries == [
        ["Demo_Pkg", None, ts, "create", 1],
        ["Demo_Pkg", None, ts, "add Owner alice", 2],
        ["Demo_Pkg", "1.0", ts, "new release", 3],
        ["Demo_Pkg", "1.0", ts, "add source file demo_pkg-1.0.tar.gz", 4],
        ["Demo_Pkg", "1.0", ts, "add py3 file demo_pkg-1.0-py3-none-any.whl", 5],
    ]
    assert {r.submitted_by for r in journal_rows(index_double.store)} == {"alice"}


Mutation = Callable[[IndexDoubleStore], int]
MUTATIONS: list[tuple[str, Mutation, list[tuple[str | None, str]]]] = [
    ("second file", lambda s: s.add_release("demo-pkg", "1.0", [
        ("demo_pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", b"x")]),
     [("1.0", "add cp312 file demo_pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")]),
    ("yank", lambda s: s.yank("demo-pkg", "1.0", "broken", actor="alice"),
     [("1.0", "yank release")]),
    ("unyank", lambda s: s.unyank("demo-pkg", "1.0"), [("1.0", "unyank release")]),
    ("remove file", lambda s: s.remove_file("demo-pkg", "1.0", SDIST[0]),
     [("1.0", f"remove file {SDIST[0]}")]),
    ("remove release", lambda s: s.remove_release("demo-pkg", "1.0"),
     [("1.0", "remove release")]),
    ("remove project", lambda s: s.remove_project("demo-pkg"), [(None, "remove project")]),
    ("quarantine", lambda s: s.quarantine_project("demo-pkg", actor="admin"),
     [(None, "project quarantined")]),
    ("clear quarantine", lambda s: s.clear_quarantine("demo-pkg"),
     [(None, "project quarantine cleared")]),
    ("add role", lambda s: s.add_role("demo-pkg", "bob", "Maintainer"),
     [(None, "add Maintainer bob")]),
    ("remove role", lambda s: s.remove_role("demo-pkg", "alice"), [(None, "remove Owner alice")]),
    ("change role", lambda s: s.change_role("demo-pkg", "alice", "Owner", "Maintainer"),
     [(None, "change Owner alice to Maintainer")]),
    ("invite", lambda s: s.invite_role("demo-pkg", "bob", "Maintainer"),
     [(None, "invite Maintainer bob")]),
    ("revoke invite", lambda s: s.revoke_invite("demo-pkg", "bob", "Maintainer"),
     [(None, "revoke_invite Maintainer bob")]),
    ("accept invite", lambda s: s.accept_invite("demo-pkg", "bob", "Maintainer"),
     [(None, "accepted Maintainer bob")]),
    ("raw", lambda s: s.add_journal("Demo_Pkg", None, "docdestroy"), [(None, "docdestroy")]),
]


@pytest.mark.parametrize(("label", "mutate", "expected"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
async def test_mutation_action_strings(index_double: IndexDouble, label: str, mutate: Mutation,
                                       expected: list[tuple[str | None, str]]) -> None:
    store = seeded(index_double)
    before = store.last_serial()
    serial = mutate(store)
    async with aiohttp.ClientSession() as s:
        entries = await rpc(s, index_double.url, "changelog_since_serial", before)
    assert [(e[1], e[3]) for e in entries] == expected
    assert serial == entries[-1][4] == store.last_serial()
    assert all(e[0] == "Demo_Pkg" for e in entries)


async def test_role_and_lifecycle_tables_follow_warehouse(index_double: IndexDouble) -> None:
    store = seeded(index_double)
    store.invite_role("demo-pkg", "bob", "Maintainer", actor="alice")
    store.accept_invite("demo-pkg", "bob", "Maintainer")
    store.quarantine_project("demo-pkg", actor="admin")
    with store.engine.connect() as c:
        roles = dict(c.execute(sa.select(ws.users.c.username, ws.roles.c.role_name)
                               .join(ws.roles, ws.roles.c.user_id == ws.users.c.id)).all())
        assert c.execute(sa.select(sa.func.count()).select_from(ws.role_invitations)).scalar() == 0
        project = c.execute(sa.select(ws.projects)).one()
        frozen = dict(c.execute(sa.select(ws.users.c.username, ws.users.c.is_frozen)
                                .where(ws.users.c.username != "admin")).all())
    assert roles == {"alice": "Owner", "bob": "Maintainer"}
    assert project.lifecycle_status == ws.LifecycleStatus.QuarantineEnter
    assert project.lifecycle_status_note == "Quarantined by admin."
    assert frozen == {"alice": True, "bob": True}  # quarantine freezes the project's users
    with pytest.raises(ValueError, match="not 'Owner'"):
        store.change_role("demo-pkg", "bob", "Owner", "Maintainer")


async def test_email_verification_is_recorded_as_user_event(index_double: IndexDouble) -> None:
    store = index_double.store
    store.add_user("carol", "carol@old.example", verified=False, at=T0)
    store.verify_email("carol@old.example", at=datetime(2024, 6, 1, tzinfo=UTC))
    e, ev = ws.user_emails, ws.user_events
    with store.engine.connect() as c:
        email = c.execute(sa.select(e)).one()
        events = c.execute(sa.select(ev.c.tag, ev.c.time, ev.c.additional)
                           .order_by(ev.c.time)).all()
    assert email.verified and email.primary
    assert events[-1] == ("account:email:verified", datetime(2024, 6, 1),
                          {"email": "carol@old.example", "primary": True})


async def test_changelog_pages_at_page_size(index_double: IndexDouble) -> None:
    store = index_double.store
    store.bulk_journals((f"p{i}", None, 1_700_000_000 + i, "create") for i in range(10))
    async with IndexDoubleServer(store, page_size=4) as small, aiohttp.ClientSession() as s:
        seen: list[int] = []
        serial = 0
        while page := await rpc(s, small.url, "changelog_since_serial", serial):
            assert len(page) <= 4
            seen += [e[4] for e in page]
            serial = page[-1][4]
    assert seen == list(range(1, 11))


async def test_changelog_caps_at_50000_quickly(index_double: IndexDouble) -> None:
    store = index_double.store
    n = store.bulk_journals(
        (f"project-{i % 997}", "1.0" if i % 2 else None, 1_600_000_000 + i,
         f"add py3 file project_{i}-1.0-py3-none-any.whl") for i in range(50_010))
    assert n == 50_010
    async with aiohttp.ClientSession() as s:
        started = time.perf_counter()
        page = await rpc(s, index_double.url, "changelog_since_serial", 0)
        elapsed = time.perf_counter() - started
    assert len(page) == 50_000 and page[-1][4] == 50_000
    assert page[1] == ["project-1", "1.0", 1_600_000_001,
                       "add py3 file project_1-1.0-py3-none-any.whl", 2]
    assert elapsed < 10.0  # ~0.5 s alone; the CI machine is shared and can be very loaded


@pytest.mark.slow
def test_bulk_journals_a_million_rows(tmp_path: Path) -> None:
    store = IndexDoubleStore(tmp_path / "big.sqlite", tmp_path / "files")
    started = time.perf_counter()
    n = store.bulk_journals((f"p{i % 50_000}", None, 1_500_000_000 + i // 10, "new release")
                            for i in range(1_000_000))
    assert n == 1_000_000 and store.last_serial() == 1_000_000
    assert time.perf_counter() - started < 30
    store.close()


async def test_xmlrpc_faults(index_double: IndexDouble) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(xmlrpc.client.Fault) as unknown:
            await rpc(s, index_double.url, "no_such_method")
        with pytest.raises(xmlrpc.client.Fault) as bad_arg:
            await rpc(s, index_double.url, "changelog_since_serial", "zero")
        async with s.post(f"{index_double.url}/pypi", data=b"<not xml") as resp:
            with pytest.raises(xmlrpc.client.Fault) as parse:
                xmlrpc.client.loads(await resp.read())
    assert unknown.value.faultCode == -32601
    assert bad_arg.value.faultCode == -32602
    assert parse.value.faultCode == -32700
    assert [r.rpc_method for r in index_double.server.requests] == [
        "no_such_method", "changelog_since_serial", None]


# -- JSON API, simple API, files ------------------------------------------------


FILE_KEYS = {"comment_text", "core-metadata", "digests", "downloads", "filename", "has_sig",
             "md5_digest", "packagetype", "python_version", "requires_python", "size",
             "upload_time", "upload_time_iso_8601", "url", "yanked", "yanked_reason"}


async def test_json_api_shape_and_digests(index_double: IndexDouble) -> None:
    store = seeded(index_double)
    store.add_role("demo-pkg", "bob", "Maintainer")
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{index_double.url}/pypi/demo-pkg/json") as resp:
            assert resp.status == 200
            assert resp.headers["X-PyPI-Last-Serial"] == str(store.last_serial())
            data = await resp.json()
        blobs = {}
        for f in data["urls"]:
            async with s.get(f["url"]) as resp:
                blobs[f["filename"]] = await resp.read()
    assert set(data) == {"info", "last_serial", "releases", "urls", "vulnerabilities",
                         "ownership"}
    info = data["info"]
    assert (info["name"], info["version"], info["summary"]) == ("Demo_Pkg", "1.0", "A demo")
    assert info["requires_dist"] == ["requests>=2"] and info["requires_python"] == ">=3.9"
    assert info["project_urls"] == {"Source": "https://example.org/src"}
    assert info["author_email"] == "alice@example.org" and info["yanked"] is False
    assert data["ownership"] == {"roles": [{"role": "Owner", "user": "alice"},
                                           {"role": "Maintainer", "user": "bob"}],
                                 "organization": None}
    assert data["vulnerabilities"] == [] and data["last_serial"] == store.last_serial()
    assert list(data["releases"]) == ["1.0"] and data["releases"]["1.0"] == data["urls"]
    contents = dict([SDIST, WHEEL])
    for f in data["urls"]:
        assert set(f) == FILE_KEYS
        body = contents[f["filename"]]
        assert blobs[f["filename"]] == body
        assert f["digests"] == {"md5": hashlib.md5(body).hexdigest(),
                                "sha256": hashlib.sha256(body).hexdigest(),
                                "blake2b_256": hashlib.blake2b(body, digest_size=32).hexdigest()}
        assert f["size"] == len(body) and f["downloads"] == -1 and f["has_sig"] is False
        assert f["upload_time"] == "2024-05-01T12:00:00"
        assert f["upload_time_iso_8601"] == "2024-05-01T12:00:00Z"
        b2 = f["digests"]["blake2b_256"]
        assert f["url"].endswith(f"/packages/{b2[:2]}/{b2[2:4]}/{b2[4:]}/{f['filename']}")
    kinds = {f["filename"]: (f["packagetype"], f["python_version"]) for f in data["urls"]}
    assert kinds == {SDIST[0]: ("sdist", "source"), WHEEL[0]: ("bdist_wheel", "py3")}


async def test_json_release_endpoint_redirects_and_404s(index_double: IndexDouble) -> None:
    store = seeded(index_double)
    store.add_release("demo-pkg", "2.0", [("demo_pkg-2.0.tar.gz", b"two")])
    url = index_double.url
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{url}/pypi/demo-pkg/1.0/json") as resp:
            one = await resp.json()
        async with s.get(f"{url}/pypi/demo-pkg/json") as resp:
            latest = await resp.json()
        async with s.get(f"{url}/pypi/Demo_Pkg/json", allow_redirects=False) as resp:
            assert resp.status == 301
            assert resp.headers["Location"] == "/pypi/demo-pkg/json"
        for path in ("/pypi/nope/json", "/pypi/demo-pkg/9.9/json"):
            async with s.get(url + path) as resp:
                assert resp.status == 404 and await resp.json() == {"message": "Not Found"}
    assert "releases" not in one and one["info"]["version"] == "1.0"
    assert latest["info"]["version"] == "2.0" and list(latest["releases"]) == ["2.0", "1.0"]


async def test_remove_project_404s_but_blobs_stay(index_double: IndexDouble) -> None:
    store = seeded(index_double)
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{index_double.url}/pypi/demo-pkg/json") as resp:
            files = (await resp.json())["urls"]
        store.remove_project("demo-pkg", actor="alice")
        async with s.get(f"{index_double.url}/pypi/demo-pkg/json") as resp:
            assert resp.status == 404
        async with s.get(files[0]["url"]) as resp:
            assert resp.status == 200
    for f in files:
        blob = store.files_dir / "packages" / f["url"].split("/packages/", 1)[1]
        assert blob.read_bytes() == dict([SDIST, WHEEL])[f["filename"]]
    with store.engine.connect() as c:
        for table in (ws.projects, ws.releases, ws.release_files, ws.roles):
            assert c.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
        assert c.execute(sa.select(sa.func.count()).select_from(ws.file_registry)).scalar() == 2
    with pytest.raises(ValueError, match="already been used"):
        store.create_project("demo-pkg", "alice")
        store.add_release("demo-pkg", "1.0", [SDIST])


async def test_pep691_yanked_and_quarantine(index_double: IndexDouble) -> None:
    store = seeded(index_double)
    store.add_release("demo-pkg", "2.0", [("demo_pkg-2.0.tar.gz", b"two")])
    store.add_release("demo-pkg", "3.0", [("demo_pkg-3.0.tar.gz", b"three")])
    store.yank("demo-pkg", "1.0", "security hole")
    store.yank("demo-pkg", "2.0")
    accept = {"Accept": "application/vnd.pypi.simple.v1+json"}
    url = f"{index_double.url}/simple/demo-pkg/"
    async with aiohttp.ClientSession() as s:
        async with s.get(url, headers=accept) as resp:
            assert resp.content_type == "application/vnd.pypi.simple.v1+json"
            page = await resp.json(content_type=None)
        async with s.get(url) as resp:
            assert resp.content_type == "text/html"
            html = await resp.text()
        store.quarantine_project("demo-pkg")
        async with s.get(url, headers=accept) as resp:
            quarantined = await resp.json(content_type=None)
        async with s.get(f"{index_double.url}/pypi/demo-pkg/json") as resp:
            assert resp.status == 404
    assert page["meta"]["api-version"] == "1.4" and page["name"] == "demo-pkg"
    assert page["versions"] == ["1.0", "2.0", "3.0"]
    yanked = {f["filename"]: f["yanked"] for f in page["files"]}
    assert yanked == {SDIST[0]: "security hole", WHEEL[0]: "security hole",
                      "demo_pkg-2.0.tar.gz": True, "demo_pkg-3.0.tar.gz": False}
    wheel = next(f for f in page["files"] if f["filename"] == WHEEL[0])
    assert wheel["hashes"] == {"sha256": hashlib.sha256(WHEEL[1]).hexdigest()}
    assert wheel["requires-python"] == ">=3.9" and wheel["size"] == len(WHEEL[1])
    assert 'data-yanked="security hole"' in html and 'data-requires-python="&gt;=3.9"' in html
    assert quarantined["files"] == [] and quarantined["project-status"]["status"] == "quarantined"


# -- faults ---------------------------------------------------------------------


async def test_status_faults_are_consumed_in_order(index_double: IndexDouble) -> None:
    faults = index_double.server.faults
    faults.add("429")
    faults.add("500", count=2)
    faults.add("503")
    async with aiohttp.ClientSession() as s:
        statuses = []
        for _ in range(5):
            async with s.get(f"{index_double.url}/simple/") as resp:
                statuses.append(resp.status)
                if resp.status == 429:
                    assert resp.headers["Retry-After"] == "1"
    assert statuses == [429, 500, 500, 503, 200]
    assert len(faults) == 0


async def test_fault_path_prefix(index_double: IndexDouble) -> None:
    seeded(index_double)
    index_double.server.faults.add("503", path="/pypi/demo-pkg/")
    async with aiohttp.ClientSession() as s:
        assert await rpc(s, index_double.url, "changelog_last_serial") == 5
        async with s.get(f"{index_double.url}/simple/demo-pkg/") as resp:
            assert resp.status == 200
        async with s.get(f"{index_double.url}/pypi/demo-pkg/json") as resp:
            assert resp.status == 503
        async with s.get(f"{index_double.url}/pypi/demo-pkg/json") as resp:
            assert resp.status == 200
    assert [(r.method, r.path) for r in index_double.server.requests] == [
        ("POST", "/pypi"), ("GET", "/simple/demo-pkg/"), ("GET", "/pypi/demo-pkg/json"),
        ("GET", "/pypi/demo-pkg/json")]


async def test_body_faults(index_double: IndexDouble) -> None:
    seeded(index_double)
    faults, url = index_double.server.faults, index_double.url
    call = xmlrpc.client.dumps((0,), "changelog_since_serial")
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{url}/pypi", data=call) as resp:
            whole = await resp.read()
        faults.add("truncated")
        async with s.post(f"{url}/pypi", data=call) as resp:
            cut = await resp.read()
        faults.add("invalid", count=2)
        async with s.post(f"{url}/pypi", data=call) as resp:
            bad_xml = await resp.read()
        async with s.get(f"{url}/pypi/demo-pkg/json") as resp:
            assert resp.status == 200
            with pytest.raises(ValueError):
                await resp.json()
        faults.add("entity")
        async with s.post(f"{url}/pypi", data=call) as resp:
            assert resp.status == 200
            bomb = await resp.read()
    assert cut == whole[: len(whole) // 2]
    for body in (cut, bad_xml):
        with pytest.raises(ExpatError):
            xmlrpc.client.loads(body)
    assert b"<!DOCTYPE" in bomb and b"<!ENTITY lol9" in bomb and len(bomb) < 2048
    with pytest.raises((EntitiesForbidden, DTDForbidden)):
        defusedxml.ElementTree.fromstring(bomb)


async def test_slow_fault(index_double: IndexDouble) -> None:
    faults, url = index_double.server.faults, index_double.url
    faults.add("slow", delay=0.4)
    faults.add("slow")  # the default 5 s: the client gives up first
    async with aiohttp.ClientSession() as s:
        started = time.perf_counter()
        async with s.get(f"{url}/simple/") as resp:
            assert resp.status == 200
        assert time.perf_counter() - started >= 0.4
        with pytest.raises(asyncio.TimeoutError):
            async with s.get(f"{url}/simple/", timeout=aiohttp.ClientTimeout(total=0.3)):
                pass


async def test_oversize_fault_streams_a_huge_valid_body(index_double: IndexDouble) -> None:
    faults, url = index_double.server.faults, index_double.url
    call = xmlrpc.client.dumps((0,), "changelog_since_serial")
    faults.add("oversize", size=3 * 1024 * 1024)
    faults.add("oversize")
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{url}/pypi", data=call) as resp:
            small = await resp.read()
        async with s.post(f"{url}/pypi", data=call) as resp:
            assert resp.content_length is not None and resp.content_length > 80 * 1024 * 1024
            got = 0
            async for chunk in resp.content.iter_chunked(1 << 16):
                got += len(chunk)
                if got > 4 * 1024 * 1024:  # a client's size cap
                    break
            resp.close()
    assert len(small) > 3 * 1024 * 1024
    assert xmlrpc.client.loads(small)[0] == ([],)


async def test_faults_over_http(index_double: IndexDouble) -> None:
    url = index_double.url
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{url}/_double/faults", json={"kind": "500", "count": 3}) as resp:
            assert resp.status == 201
        async with s.post(f"{url}/_double/faults", json={"kind": "teapot"}) as resp:
            assert resp.status == 400
        async with s.get(f"{url}/simple/") as resp:
            assert resp.status == 500
        async with s.delete(f"{url}/_double/faults") as resp:
            assert await resp.json() == {"cleared": 1}
        async with s.get(f"{url}/simple/") as resp:
            assert resp.status == 200
        async with s.get(f"{url}/_double/requests") as resp:
            logged = await resp.json()
    assert logged == [{"method": "GET", "path": "/simple/", "rpc_method": None}] * 2


# -- schema and command line ----------------------------------------------------


def test_schema_names_match_warehouse_on_postgresql() -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    ddl = {t.name: str(CreateTable(t).compile(dialect=dialect)) for t in ws.metadata.sorted_tables}
    assert "packagetype packagetype NOT NULL" in ddl["release_files"]
    assert "lifecycle_status lifecyclestatus" in ddl["projects"]
    assert "unverify_reason unverifyreasons" in ddl["user_emails"]
    assert "submitted_by CITEXT" in ddl["journals"]
    assert "CONSTRAINT _roles_user_project_uc UNIQUE (user_id, project_id)" in ddl["roles"]
    assert int(ws.DependencyKind.requires_dist) == 4


async def test_schema_creates_on_postgresql() -> None:
    """The same tables on a real PostgreSQL (CITEXT, enum types), where CI has one."""
    server = os.environ.get("WARDEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
    try:
        admin = await asyncpg.connect(f"{server}/postgres", timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL at {server}: {exc}")
    name = f"ws_schema_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_async_engine(server.replace("postgresql://", "postgresql+asyncpg://", 1)
                                 + f"/{name}")
    try:
        async with engine.begin() as c:
            await c.execute(sa.text("CREATE EXTENSION IF NOT EXISTS citext"))
            await c.run_sync(ws.metadata.create_all)
            await c.execute(sa.insert(ws.users).values(username="Alice", name="", password="!"))
            await c.execute(sa.insert(ws.projects).values(
                name="X", normalized_name="x", lifecycle_status=ws.LifecycleStatus.QuarantineEnter))
            await c.execute(sa.insert(ws.journals).values(name="X", action="create",
                                                          submitted_by="alice"))
            found = (await c.execute(sa.select(ws.projects.c.name).where(
                ws.projects.c.lifecycle_status == ws.LifecycleStatus.QuarantineEnter))).all()
        assert found == [("X",)]
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.mark.service
def test_serve_subprocess(index_double_process: IndexDoubleProcess) -> None:
    d = index_double_process
    d.store.create_project("served", "alice")
    proxy = xmlrpc.client.ServerProxy(f"{d.url}/pypi")
    assert proxy.changelog_last_serial() == 2
    d.add_fault("503", path="/pypi")
    with pytest.raises(xmlrpc.client.ProtocolError) as err:
        proxy.changelog_since_serial(0)
    assert err.value.errcode == 503
    entries: list[list[Any]] = proxy.changelog_since_serial(0)  # type: ignore[assignment]
    assert [e[3] for e in entries] == ["create", "add Owner alice"]
    assert [r["rpc_method"] for r in d.requests()] == [
        "changelog_last_serial", "changelog_since_serial", "changelog_since_serial"]


@pytest.mark.service
def test_serve_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc, url = start_index_double_process(tmp_path / "db.sqlite", tmp_path / "files",
                                           "--page-size", "7")
    assert url.startswith("http://127.0.0.1:")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert proc.stdout is not None and proc.stdout.read() == ""
    proc.stdout.close()


def test_help() -> None:
    out = subprocess.run([sys.executable, "-m", "bot.indexdouble", "--help"],
                         capture_output=True, text=True, check=True,
                         cwd=REPO).stdout
    assert "serve" in out and "oversize" in out
