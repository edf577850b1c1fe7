"""A devpi primary that misbehaves (a stand-in aiohttp server on loopback speaking the
replica protocol): malformed, oversized or out-of-order pages never move the cursor; a
key that fails the edge checks is set aside as a feed anomaly and the rest of the page is
stored; a user record's password hash is never stored anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp import web
from devpi_server.fileutil import dumps

from bot.feed.client import IndexClient, IndexUnavailable, RetryPolicy
from bot.feed.devpi import DevpiFeed
from bot.feed.devpi_sync import DevpiSync, ServerChanged
from bot.store.db import create_engine, session_factory
from bot.store.models import FeedCursor, FeedReject, Incident
from playbooks.storage.filesystem import FilesystemStorage

UUID = "ab" * 16
KEY = b"k" * 16
PWHASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"


class FakePrimary:
    def __init__(self) -> None:
        self.body: bytes = b""
        self.head = 0
        self.uuid = UUID
        self.status = 200

    async def changelog(self, request: web.Request) -> web.Response:
        asked = int(request.match_info["serial"].rstrip("-"))
        status = 202 if asked > self.head else self.status  # as devpi: nothing new yet
        return web.Response(body=self.body if status == 200 else b"", status=status, headers={
            "X-DEVPI-SERIAL": str(self.head), "X-DEVPI-UUID": self.uuid,
            "Content-Type": "application/octet-stream"})


@pytest.fixture
async def primary() -> AsyncIterator[tuple[FakePrimary, str]]:
    fake = FakePrimary()
    app = web.Application()
    app.router.add_get("/+changelog/{serial}", fake.changelog)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def follower(url: str, store_url: str, root: Path, max_bytes: int = 1 << 20) -> DevpiSync:
    client = IndexClient(url, max_response_bytes=max_bytes,
                         retry=RetryPolicy(max_retries=1, backoff_seconds=0.01))
    return DevpiSync(DevpiFeed(client, KEY, "cd" * 16), session_factory(create_engine(store_url)),
                     FilesystemStorage(root), indexes=["acme/internal"], url=url)


async def cursor(store_url: str) -> int | None:
    async with session_factory(create_engine(store_url))() as session:
        row = await session.get(FeedCursor, "devpi")
    return None if row is None else row.serial


USER = {"acme/.config": ("USER", -1, {"pwhash": PWHASH, "email": "ci@acme.example",
                                      "indexes": {"internal": {"type": "stage", "bases": ()}}})}


@pytest.mark.parametrize("body", [
    b"K\x7f\xff\xff\xffQ",  # a list of 2**31 slots
    b"\x80\x04\x95pickle",
    dumps([(5, {})]),  # serial 5 where 0 was asked
    dumps([(0, {}), (0, {})]),  # the same serial twice
    dumps([(0, {}), (1, {})]) + b"junk",
    dumps({"not": "a list"}),
])
async def test_a_bad_page_never_moves_the_cursor(primary: tuple[FakePrimary, str], body: bytes,
                                                 sqlite_url: str, tmp_path: Path) -> None:
    fake, url = primary
    fake.body, fake.head = body, 1
    sync = follower(url, sqlite_url, tmp_path)
    with pytest.raises(IndexUnavailable):
        await sync.sync()
    await sync.feed.client.close()
    assert await cursor(sqlite_url) is None


async def test_an_oversized_page_is_refused(primary: tuple[FakePrimary, str], sqlite_url: str,
                                            tmp_path: Path) -> None:
    fake, url = primary
    fake.body, fake.head = dumps([(0, {"x": ("USERLIST", -1, "y" * 5000)})]), 0
    sync = follower(url, sqlite_url, tmp_path, max_bytes=1000)
    with pytest.raises(IndexUnavailable):
        await sync.sync()
    await sync.feed.client.close()
    assert await cursor(sqlite_url) is None


async def test_bad_keys_are_set_aside_and_no_password_hash_is_stored(
        primary: tuple[FakePrimary, str], sqlite_url: str, tmp_path: Path) -> None:
    fake, url = primary
    bad_file = {"acme/internal/+f/aaa/bbb/x-1.0.whl": (
        "STAGEFILE", -1, {"hashes": {"sha256": "not-hex"}, "project": "x", "version": "1.0"})}
    bad_versions = {"acme/internal/evil\x1b[2J/.versions": ("PROJVERSIONS", -1, {"1.0"})}
    fake.body = dumps([(0, USER), (1, {**bad_file, **bad_versions}),
                       (2, {"acme/internal/good/.versions": ("PROJVERSIONS", -1, {"1.0"})})])
    fake.head = 2
    sync = follower(url, sqlite_url, tmp_path)
    result = await sync.sync()
    await sync.feed.client.close()
    assert result.cursor == 2 and result.rejected == 2
    assert result.by_kind == {"other": 2, "create": 1, "new_release": 1}
    engine = create_engine(sqlite_url)
    async with session_factory(engine)() as session:
        rejects = list((await session.execute(sa.select(FeedReject))).scalars())
        incident = (await session.execute(sa.select(Incident))).scalar_one()
    assert {r.reason for r in rejects} == {
        "file entry: no sha256", "project: empty, longer than 512 or with control characters"}
    assert incident.kind == "anomaly" and incident.subject == "feed:devpi"
    async with engine.connect() as conn:
        tables = (await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
        for table in tables:
            for row in (await conn.execute(sa.text(f'SELECT * FROM "{table}"'))).all():
                assert "argon2" not in repr(row), table


async def test_another_server_behind_the_url_is_refused(
        primary: tuple[FakePrimary, str], sqlite_url: str, tmp_path: Path) -> None:
    fake, url = primary
    fake.body, fake.head = dumps([(0, USER)]), 0
    sync = follower(url, sqlite_url, tmp_path)
    await sync.sync()
    fake.uuid, fake.body, fake.head = "ef" * 16, dumps([(1, {})]), 1
    with pytest.raises(ServerChanged):
        await sync.sync()
    await sync.feed.client.close()
    assert await cursor(sqlite_url) == 0


async def test_a_primary_that_stays_unreadable_opens_the_stalled_incident_once(
        primary: tuple[FakePrimary, str], sqlite_url: str, tmp_path: Path) -> None:
    fake, url = primary
    fake.body, fake.head = dumps([(0, USER)]), 0
    sync = follower(url, sqlite_url, tmp_path)
    sync.stall_incident_after = timedelta(0)
    await sync.sync()
    fake.head, fake.status = 1, 503
    for _ in range(2):
        with pytest.raises(IndexUnavailable):
            await sync.sync()
    fake.status, fake.body = 200, dumps([(1, {})])
    await sync.sync()
    await sync.feed.client.close()
    async with session_factory(create_engine(sqlite_url))() as session:
        stalled = list((await session.execute(
            sa.select(Incident).where(Incident.kind == "stalled"))).scalars())
        row = await session.get(FeedCursor, "devpi")
    assert [(i.subject, i.severity) for i in stalled] == [("feed:devpi", "high")]
    assert row is not None and row.stalled_since is None and row.serial == 1
