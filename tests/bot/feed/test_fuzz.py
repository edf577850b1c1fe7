"""Generated changelog pages and JSON API bodies, served by the index double over HTTP and
read through the real parsers, the real pipeline and a real store (issue 14).

Whatever the index sends: no exception escapes but IndexUnavailable (a page that is not a
changelog at all, which moves nothing); every well-formed entry is stored exactly once;
every malformed one is recorded as rejected; the cursor never passes an entry that was
neither stored nor recorded.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.config import load_settings
from bot.feed.client import IndexUnavailable
from bot.indexdouble import IndexDoubleServer, IndexDoubleStore
from bot.indexdouble.faults import dumps_page
from bot.ledger import Ledger
from bot.store.migrate import upgrade
from bot.store.models import Event, FeedReject
from bot.wiring import Warden
from detectors.critical import CriticalChangeDetector

START = 100  # the feed starts after this serial
TS = 1_700_000_000
ACTIONS = ["create", "new release", "remove project", "yank release", "add Owner bob",
           "add py3 file x-1.0-py3-none-any.whl", "remove file x.tar.gz", "docupdate",
           "change Maintainer bob to Owner"]

# Values that make a field invalid, whatever the rest of the entry says.
BAD = {
    0: ["", None, 3, "x" * 513, "a\x7fb", "c\x85d", ["requests"]],
    1: [3, 1.5, "v" * 513, "\x9b"],
    2: ["1700000000", -62135596800, 1e300, 2**70, None, 4_102_444_800, True],
    3: [None, "a" * 4097, 7, "add Owner " + "u" * 300],
    4: [-1, 0, 2**63, 2**64, "5", True, 1.5, None],
}


@dataclass
class Plan:
    entries: list[Any] = field(default_factory=list)
    good: dict[int, tuple[str, str | None, str]] = field(default_factory=dict)
    bad_serials: set[int] = field(default_factory=set)  # poison that can be placed
    unplaced: int = 0  # poison whose serial is unusable


@st.composite
def pages(draw: st.DrawFn) -> Plan:
    plan = Plan()
    serial = START - draw(st.integers(0, 3))  # some entries the feed never owned
    for _ in range(draw(st.integers(0, 25))):
        serial += draw(st.integers(1, 3))
        name = draw(st.sampled_from(["demo", "Requests", "ctx", "x_y.z", "\u202eevil"]))
        version = draw(st.none() | st.sampled_from(["1.0", "2.0rc1", "0.0.1.dev3"]))
        entry: list[Any] = [name, version, TS + serial, draw(st.sampled_from(ACTIONS)), serial]
        if draw(st.integers(0, 3)) == 0:  # poison: one field made invalid
            where = draw(st.integers(0, 4))
            entry[where] = draw(st.sampled_from(BAD[where]))
            if where == 4:
                plan.unplaced += 1
            elif serial > START:
                plan.bad_serials.add(serial)
        elif serial > START:
            plan.good[serial] = (name, version, entry[3])
        plan.entries.append(entry)
    if draw(st.booleans()):
        plan.entries.reverse()  # out of order: sorted into place
    return plan


@pytest.fixture(scope="module", autouse=True)
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One migrated store, copied for each example (migrating each would take seconds)."""
    global TEMPLATE
    TEMPLATE = tmp_path_factory.mktemp("fuzz") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{TEMPLATE}")


TEMPLATE = Path()


async def run(plan_body: bytes, head: int, json_body: str | None = None
              ) -> tuple[Warden, Path, Any]:
    work = Path(tempfile.mkdtemp(prefix="warden-fuzz-"))
    shutil.copy(TEMPLATE, work / "w.db")
    store = IndexDoubleStore(work / "index.sqlite", work / "files")
    server = IndexDoubleServer(store)
    url = await server.start()
    server.faults.add("body", path="/pypi", body=plan_body)
    server.faults.add("head", count=1000, path="/pypi", since=head)  # what the index claims
    if json_body is not None:
        server.faults.add("body", count=10, path="/pypi/demo/json", body=json_body)
    w = await Warden.open(load_settings(
        store={"url": f"sqlite+aiosqlite:///{work / 'w.db'}"},
        index={"url": url, "max_retries": 1, "backoff_seconds": 0.01,
               "backoff_max_seconds": 0.02, "timeout_seconds": 5},
        feed={"start_serial": START}, critical={"top": "0", "projects": ["demo"]},
        notify={"console": False},
    ), detectors=[CriticalChangeDetector(index_url=url)], notifiers={})
    w.feed.resend_backoff_seconds = 0.01
    await w.ensure_critical_set()
    outcome: Any
    try:
        outcome = await w.feed.sync()
    except IndexUnavailable as exc:
        outcome = exc
    finally:
        await server.stop()
        store.close()
    return w, work, outcome


async def check_page(plan: Plan) -> None:
    head = max([START, *plan.good, *plan.bad_serials])
    w, work, outcome = await run(dumps_page(plan.entries), head)
    try:
        assert not isinstance(outcome, IndexUnavailable), outcome
        async with w.sessions() as session:
            events = {e.serial: (e.project, e.version, e.raw)
                      for e in (await session.execute(select(Event))).scalars()}
            rejects = list((await session.execute(select(FeedReject))).scalars())
        assert events == plan.good  # every well-formed entry, once, as sent
        placed = {r.serial for r in rejects if r.serial is not None}
        assert plan.bad_serials <= placed
        assert len([r for r in rejects if r.serial is None]) <= plan.unplaced
        if plan.unplaced:
            assert any(r.serial is None for r in rejects)
        assert await w.pipeline.cursor() == head
    finally:
        await w.close()
        shutil.rmtree(work, ignore_errors=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages())
def test_generated_pages_are_stored_or_set_aside_entry_by_entry(plan: Plan) -> None:
    asyncio.run(check_page(plan))


async def check_garbage(body: bytes) -> None:
    w, work, outcome = await run(body, START)
    try:
        async with w.sessions() as session:
            stored = (await session.execute(select(Event.serial))).scalars().all()
        # The double's own changelog is empty: a body that is not a changelog moves nothing.
        assert list(stored) == [] and await w.pipeline.cursor() == START
        assert outcome is None or isinstance(outcome, IndexUnavailable) or outcome.events == 0
    finally:
        await w.close()
        shutil.rmtree(work, ignore_errors=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8",
                                                                             "surrogatepass")))
def test_bodies_that_are_not_changelogs_move_nothing(body: bytes) -> None:
    asyncio.run(check_garbage(body))


FILE = {"filename": "demo-1.0.tar.gz", "size": 5, "packagetype": "sdist",
        "digests": {"sha256": "a" * 64, "blake2b_256": "b" * 64}}


def json_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8)
        | st.sampled_from(["demo", "other", "a" * 64, "1.0"]),
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["info", "name", "releases", "1.0", "filename",
                                           "digests", "size", "sha256", "last_serial"]),
                          inner, max_size=4),
        max_leaves=12)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, bool]:
    """A project document for "demo" (valid by construction, or mutated) as JSON text."""
    doc: dict[str, Any] = {"info": {"name": "demo"}, "last_serial": 3,
                           "releases": {"1.0": [dict(FILE)]}}
    order = ["digests", "file", "info", "releases", "last_serial"]  # nested ones first
    targets = draw(st.lists(st.sampled_from(order), max_size=2, unique=True))
    valid = not targets
    for target in sorted(targets, key=order.index):
        value = draw(json_values())
        if target == "file":
            doc["releases"]["1.0"][0] = value
        elif target == "digests":
            doc["releases"]["1.0"][0]["digests"] = value
        else:
            doc[target] = value
    text = json.dumps(doc)
    if draw(st.integers(0, 5)) == 0:
        valid, text = False, text[: draw(st.integers(0, len(text) - 1))]
    return text, valid


async def check_document(text: str, valid: bool) -> None:
    entries = [["demo", "1.0", TS, "new release", START + 1],
               ["demo", "1.0", TS, "add source file demo-1.0.tar.gz", START + 2]]
    w, work, outcome = await run(dumps_page(entries), START + 2, json_body=text)
    try:
        assert not isinstance(outcome, IndexUnavailable), outcome
        assert await w.pipeline.cursor() == START + 2
        async with w.sessions() as session:
            project = await Ledger(session, w.pipeline.tracked).project("demo", with_files=True)
            files = [f.filename for r in (project.releases if project else []) for f in r.files]
            rejects = list((await session.execute(select(FeedReject))).scalars())
        # Refused: nothing of it in the ledger. Accepted: only what it lists.
        assert [r.source for r in rejects] in ([], ["json:demo"])
        assert files == [] if rejects else set(files) <= {"demo-1.0.tar.gz"}
        if valid:
            assert files == ["demo-1.0.tar.gz"]
    finally:
        await w.close()
        shutil.rmtree(work, ignore_errors=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_documents_fill_the_ledger_or_are_refused(case: tuple[str, bool]) -> None:
    asyncio.run(check_document(*case))
