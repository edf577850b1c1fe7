"""The devpi ledger turns checked changelog entries into events by comparing them with
what it stored: one removal is one event (a release's files get none of their own), a
removed file alone is a file removal, and the deletion detector raises one incident each.
Entries are in the shape devpi-server 6 writes (see tests/bot/feed/test_devpi_feed.py for
the same against a real server)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.events import IndexEvent
from bot.feed.devpi_ledger import DevpiLedger
from bot.feed.devpi_schema import check_entry
from bot.ledger import Ledger, TrackedProjects
from bot.store.db import create_engine, session_factory
from bot.store.devpi_models import DevpiFile
from detectors.base import Context
from detectors.confusion.internal import InternalDeletionDetector

AT = datetime(2026, 1, 1, tzinfo=UTC)
INDEX = "acme/internal"


def _file(version: str, n: int, present: bool = True) -> tuple[str, tuple[str, int, object]]:
    path = f"{INDEX}/+f/{n:03d}/{n:013d}/acme_utils-{version}-{n}-py3-none-any.whl"
    value = {"hashes": {"sha256": f"{n:064x}"}, "project": "acme-utils", "version": version}
    return path, ("STAGEFILE", -1, value if present else None)


PAGES: list[dict[str, tuple[str, int, object]]] = [
    {"acme/.config": ("USER", -1, {"indexes": {"internal": {"type": "stage", "bases": ()}}}),
     f"{INDEX}/acme-utils/.versions": ("PROJVERSIONS", -1, {"1.0", "2.0"}),
     **dict([_file("1.0", 1), _file("1.0", 2), _file("2.0", 3)])},
    # remove release 1.0 (its two files go with it)
    {f"{INDEX}/acme-utils/.versions": ("PROJVERSIONS", 1, {"2.0"}),
     **dict([_file("1.0", 1, False), _file("1.0", 2, False)])},
    # remove one file of 2.0
    dict([_file("2.0", 3, False)]),
]


async def test_one_removal_is_one_event_and_one_incident(sqlite_url: str) -> None:
    sessions = session_factory(create_engine(sqlite_url))
    detector = InternalDeletionDetector([INDEX])
    events: list[list[IndexEvent]] = []
    findings = []
    async with sessions.begin() as session:
        ledger = DevpiLedger(session, [INDEX])
        ctx = Context(session, Ledger(session, TrackedProjects()), AT)
        for serial, changes in enumerate(PAGES):
            found, rejected = check_entry(serial, changes)
            assert not rejected
            events.append(await ledger.apply(serial, AT, found, {}))
            for event in events[-1]:
                findings += await detector.on_event(event, ctx)
        files = list((await session.execute(select(DevpiFile).order_by(DevpiFile.id))
                      ).scalars())
    kinds = [[e.kind.value for e in page if e.index == INDEX] for page in events]
    assert kinds == [["other", "create", "new_release", "new_release", "add_file", "add_file",
                      "add_file"], ["remove_release"], ["remove_file"]]
    assert [(f.kind, f.subject) for f in findings] == [
        ("release-removed", "project:acme-utils@1.0"),
        ("file-removed", "project:acme-utils@2.0")]
    assert findings[0].playbooks == ("restore",) and "2 file(s)" in findings[0].summary
    assert [(f.version, f.removed_serial) for f in files] == [("1.0", 1), ("1.0", 1),
                                                               ("2.0", 2)]


async def test_following_every_index_leaves_mirrors_out(sqlite_url: str) -> None:
    """With devpi.indexes = [] a mirror's cached PyPI projects and files are neither
    internal names nor files to keep."""
    page = {"root/.config": ("USER", -1, {"indexes": {"pypi": {"type": "mirror"}}}),
            "root/pypi/requests/.versions": ("PROJVERSIONS", -1, {"2.32.0"}),
            "root/pypi/+f/aaa/bbbbbbbbbbbbb/requests-2.32.0.tar.gz": (
                "STAGEFILE", -1, {"hashes": {"sha256": "a" * 64}, "project": "requests",
                                  "version": "2.32.0"}),
            f"{INDEX}/acme-utils/.versions": ("PROJVERSIONS", -1, {"1.0"})}
    sessions = session_factory(create_engine(sqlite_url))
    async with sessions.begin() as session:
        found, rejected = check_entry(0, page)
        assert not rejected
        events = await DevpiLedger(session, []).apply(0, AT, found, {})
        files = list((await session.execute(select(DevpiFile))).scalars())
    assert [(e.kind.value, e.project) for e in events if e.index] == [
        ("create", "acme-utils"), ("new_release", "acme-utils")]
    assert files == []
