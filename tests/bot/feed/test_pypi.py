"""The PyPI feed against the index double over real HTTP: parsing, faults, ledger, incidents."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.config import Settings, load_settings
from bot.feed.client import IndexClient, IndexUnavailable, RetryPolicy
from bot.feed.pypi import PyPIFeed, decode_changelog, decode_project
from bot.feed.xmlrpc import MalformedResponse, decode_response
from bot.ledger import Ledger
from bot.store.models import Event, FeedCursor, Incident
from bot.wiring import Warden
from tests.support.indexdouble import IndexDouble


def wheel(name: str, version: str, size: int = 300) -> tuple[str, bytes]:
    return (f"{name}-{version}-py3-none-any.whl", f"{name} {version} ".encode() * (size // 10))


def warden_settings(store_url: str, index_url: str, **feed: object) -> Settings:
    return load_settings(
        store={"url": store_url},
        index={"url": index_url, "backoff_seconds": 0.05, "backoff_max_seconds": 2.0,
               "max_retries": 4, "timeout_seconds": 5},
        feed={"start_serial": 0, "batch_size": 50, **feed},
        critical={"top": "0", "projects": ["atomicwrites", "six"]},
        notify={"console": False},
    )


@pytest.fixture
def client_for(index_double: IndexDouble) -> AsyncIterator[IndexClient]:
    return IndexClient(index_double.url, retry=RetryPolicy(3, 0.05, 2.0), timeout_seconds=3,
                       max_response_bytes=8 * 1024 * 1024)


async def test_changelog_has_every_action_the_double_writes(index_double: IndexDouble) -> None:
    s = index_double.store
    s.create_project("ctx", "alice")
    s.add_release("ctx", "0.1", [wheel("ctx", "0.1")])
    s.yank("ctx", "0.1", "broken")
    s.unyank("ctx", "0.1")
    s.add_role("ctx", "bob", "Maintainer")
    s.change_role("ctx", "bob", "Maintainer", "Owner")
    s.invite_role("ctx", "carol", "Maintainer")
    s.revoke_invite("ctx", "carol", "Maintainer")
    s.remove_role("ctx", "bob")
    s.quarantine_project("ctx")
    s.clear_quarantine("ctx")
    s.remove_file("ctx", "0.1", "ctx-0.1-py3-none-any.whl")
    s.remove_release("ctx", "0.1")
    s.add_journal("ctx", None, "docdestroy")
    s.remove_project("ctx")
    async with IndexClient(index_double.url) as client:
        feed = PyPIFeed(client)
        events = (await feed.changelog_since(0)).events
        assert await feed.last_serial() == events[-1].serial
    kinds = [e.kind.value for e in events]
    assert kinds == [
        "create", "role_add", "new_release", "add_file", "yank", "unyank", "role_add",
        "role_change", "role_invite", "role_revoke_invite", "role_remove",
        "quarantine_project", "quarantine_project_cleared", "remove_file", "remove_release",
        "other", "remove_project",
    ]
    assert [e.serial for e in events] == sorted(e.serial for e in events)


@pytest.mark.parametrize("fault", ["429", "500", "503", "truncated", "invalid"])
async def test_transient_faults_are_retried(
    index_double: IndexDouble, client_for: IndexClient, fault: str
) -> None:
    index_double.store.create_project("six", "alice")
    index_double.server.faults.add(fault, count=2, path="/pypi")
    async with client_for as client:
        events = (await PyPIFeed(client).changelog_since(0)).events
    assert [e.kind.value for e in events] == ["create", "role_add"]
    calls = [r for r in index_double.server.requests if r.rpc_method == "changelog_since_serial"]
    assert len(calls) == 3  # two faults, then the real answer


async def test_retry_after_is_honoured(index_double: IndexDouble, client_for: IndexClient) -> None:
    index_double.store.create_project("six", "alice")
    index_double.server.faults.add("429", count=1, path="/pypi")
    started = time.monotonic()
    async with client_for as client:
        await PyPIFeed(client).changelog_since(0)
    assert time.monotonic() - started >= 0.95  # the double sends Retry-After: 1


@pytest.mark.parametrize("fault", ["entity", "oversize", "invalid"])
async def test_hostile_or_broken_answers_exhaust_retries(
    index_double: IndexDouble, client_for: IndexClient, fault: str
) -> None:
    index_double.store.create_project("six", "alice")
    index_double.server.faults.add(fault, count=10, path="/pypi")
    async with client_for as client:
        with pytest.raises(IndexUnavailable):
            await PyPIFeed(client).changelog_since(0)


async def test_slow_answer_times_out_then_recovers(index_double: IndexDouble) -> None:
    index_double.store.create_project("six", "alice")
    index_double.server.faults.add("slow", count=1, path="/pypi", delay=3.0)
    client = IndexClient(index_double.url, retry=RetryPolicy(2, 0.05, 1.0), timeout_seconds=1)
    async with client:
        events = (await PyPIFeed(client).changelog_since(0)).events
    assert len(events) == 2


async def test_bad_answer_never_moves_the_cursor(
    index_double: IndexDouble, store_url: str
) -> None:
    s = index_double.store
    s.create_project("six", "alice")
    warden = await Warden.open(warden_settings(store_url, index_double.url))
    try:
        await warden.feed.sync()
        cursor = await warden.pipeline.cursor()
        s.add_release("six", "1.0", [wheel("six", "1.0")])
        index_double.server.faults.add("invalid", count=20, path="/pypi")
        with pytest.raises(IndexUnavailable):
            await warden.feed.sync()
        assert await warden.pipeline.cursor() == cursor
        index_double.server.faults.clear()
        result = await warden.feed.sync()
        assert result.events == 2 and await warden.pipeline.cursor() == s.last_serial()
    finally:
        await warden.close()


async def test_ledger_filled_from_json_api_and_deletion_raises_one_incident(
    index_double: IndexDouble, store_url: str
) -> None:
    s = index_double.store
    s.create_project("atomicwrites", "untitaker")
    blobs: dict[str, bytes] = {}
    for minor in range(4):
        files = [wheel("atomicwrites", f"1.{minor}", 500 + minor),
                 (f"atomicwrites-1.{minor}.tar.gz", b"sdist" * (100 + minor))]
        blobs.update(files)
        s.add_release("atomicwrites", f"1.{minor}", files)
    s.create_project("left-pad", "someone")
    s.add_release("left-pad", "1.0", [wheel("left-pad", "1.0")])
    warden = await Warden.open(warden_settings(store_url, index_double.url))
    try:
        await warden.ensure_critical_set()
        await warden.feed.sync()
        s.remove_project("atomicwrites")
        s.remove_project("left-pad")
        result = await warden.feed.sync()
        assert result.by_kind == {"remove_project": 2}
        async with warden.sessions() as session:
            incidents = (await session.execute(select(Incident))).scalars().all()
            assert len(incidents) == 1, [(i.kind, i.summary) for i in incidents]
            incident = incidents[0]
            assert (incident.severity, incident.subject) == ("critical", "project:atomicwrites")
            lost = {f["filename"]: f for f in incident.evidence[1]["data"]["files"]}
            assert set(lost) == set(blobs) and len(lost) == 8
            for filename, content in blobs.items():
                import hashlib

                assert lost[filename]["sha256"] == hashlib.sha256(content).hexdigest()
                b2 = hashlib.blake2b(content, digest_size=32).hexdigest()
                assert lost[filename]["path"] == f"packages/{b2[:2]}/{b2[2:4]}/{b2[4:]}/{filename}"
                assert lost[filename]["size"] == len(content)
            ledger = Ledger(session, warden.pipeline.tracked)
            project = await ledger.project("atomicwrites", with_files=True)
            assert project is not None and project.removed_at is not None
            assert await ledger.project("left-pad") is None  # not tracked
            events = (await session.execute(select(func.count()).select_from(Event))).scalar_one()
            cursor = await session.get(FeedCursor, "pypi")
            assert cursor is not None and cursor.serial == s.last_serial()
            assert events == s.last_serial()
    finally:
        await warden.close()


changelog_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
              st.floats(allow_nan=False)),
    lambda inner: st.lists(inner, max_size=6),
    max_leaves=30,
)


@given(changelog_values)
def test_changelog_decoder_rejects_garbage_clearly(value: object) -> None:
    try:
        page = decode_changelog(value)
    except MalformedResponse as exc:
        assert str(exc)
    else:
        # Each entry is an event or a rejection (a repeated entry counts once).
        assert isinstance(value, list) and page.size == len(value)
        assert len(page.events) + len(page.rejected) <= len(value)
        assert all(r.reason for r in page.rejected)


@settings(max_examples=200)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_xmlrpc_decoder_never_crashes(body: bytes) -> None:
    try:
        decode_response(body)
    except MalformedResponse as exc:
        assert str(exc)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["info", "name", "releases", "last_serial", "digests", "filename",
                         "size", "sha256", "blake2b_256", "requires_dist", "ownership", "1.0"]),
        inner, max_size=5),
    max_leaves=25,
)


@given(st.dictionaries(st.sampled_from(["info", "releases", "last_serial", "ownership"]),
                       json_values))
def test_project_json_decoder_rejects_garbage_clearly(doc: dict[str, object]) -> None:
    try:
        facts = decode_project(doc)
    except MalformedResponse as exc:
        assert str(exc)
    else:
        assert isinstance(facts.name, str)


