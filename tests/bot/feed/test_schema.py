"""The feed's edge: every changelog entry and JSON API document checked field by field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.events import EventKind, IndexEvent, RejectedEntry, verbatim
from bot.feed.pypi import RejectedDocument, decode_project
from bot.feed.schema import MAX_SERIAL, check_entry, check_page

NOW = datetime(2026, 12, 1, tzinfo=UTC)
AT = datetime(2022, 5, 14, 12, 0, tzinfo=UTC)
TS = int(AT.timestamp())


def test_a_good_entry_becomes_its_event() -> None:
    event = check_entry(["ctx", "0.2.6", TS, "remove project", 12345], NOW)
    assert event == IndexEvent(12345, AT, EventKind.REMOVE_PROJECT, "ctx", "0.2.6",
                               "remove project")
    assert isinstance(check_entry(["ctx", "", TS, "create", 1], NOW), IndexEvent)
    assert check_entry(["ctx", "", TS, "create", 1], NOW).version is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (["", None, TS, "create", 1], "name"),
        ([None, None, TS, "create", 1], "name"),
        (["x" * 513, None, TS, "create", 1], "name"),
        (["ctx\x1b]0;pwned\x07", None, TS, "create", 1], "name"),
        (["x", 3, TS, "create", 1], "version"),
        (["x", "1" * 513, TS, "create", 1], "version"),
        (["x", None, "1", "create", 1], "timestamp"),
        (["x", None, -62135596800, "create", 1], "timestamp"),  # year 1
        (["x", None, 1, "create", 1], "timestamp"),  # 1970: before any index
        (["x", None, 1e300, "create", 1], "timestamp"),
        (["x", None, float("nan"), "create", 1], "timestamp"),
        (["x", None, NOW.timestamp() + 7 * 86400, "create", 1], "timestamp"),
        (["x", None, TS, None, 1], "action"),
        (["x", None, TS, "a" * 4097, 1], "action"),
        (["x", None, TS, "create", -1], "serial"),
        (["x", None, TS, "create", 0], "serial"),
        (["x", None, TS, "create", True], "serial"),
        (["x", None, TS, "create", "5"], "serial"),
        (["x", None, TS, "create", 2**63], "serial"),
        (["x", None, TS, "add Owner " + "u" * 257, 5], "user name"),
        (["x", "1.0", TS, "add py3 file " + "f" * 1025, 5], "file name"),
        (["x", None, TS, "change " + "R" * 65 + " bob to Owner", 5], "role"),
    ],
)
def test_bad_entries_are_rejected_with_the_field_and_kept_verbatim(
    entry: list[Any], message: str
) -> None:
    rejected = check_entry(entry, NOW)
    assert isinstance(rejected, RejectedEntry), rejected
    assert message in rejected.reason
    assert rejected.raw == verbatim(entry)
    serial = entry[4]
    usable = type(serial) is int and 1 <= serial <= MAX_SERIAL
    assert rejected.serial == (serial if usable else None)


def test_verbatim_is_bounded_and_escapes_controls() -> None:
    huge = ["p", "v" * 10_000_000, TS, "x", 1]
    assert len(verbatim(huge)) < 70_000
    assert "\x1b" not in verbatim(["\x1b[2J", None, TS, "create", 1])
    assert "integer of" in verbatim([10**5001])  # str() of it would raise


def test_a_page_is_ordered_and_keeps_one_entry_per_serial() -> None:
    page = check_page([
        ["a", None, TS, "create", 5],
        ["b", None, TS, "create", 3],
        ["a", None, TS, "create", 5],  # the same entry twice: harmless
        ["c", None, TS, "create", 5],  # another entry under serial 5
        ["d", None, TS, "create", 2**64],
    ], NOW)
    assert [(e.serial, e.project) for e in page.events] == [(3, "b"), (5, "a")]
    assert [(r.serial, r.reason[:7]) for r in page.rejected] == [(5, "serial:"), (None, "serial:")]
    assert "same serial" in page.rejected[0].reason and '"c"' in page.rejected[0].raw
    assert page.size == 5


values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=60),
    st.binary(max_size=20), st.lists(st.integers(), max_size=3),
)


@given(st.lists(values, min_size=0, max_size=7))
def test_arbitrary_entries_become_an_event_or_a_rejection(entry: list[object]) -> None:
    checked = check_entry(entry, NOW)
    if isinstance(checked, IndexEvent):
        assert checked.serial == entry[4]
        assert isinstance(checked.kind, EventKind)
    else:
        assert checked.reason and json.loads(checked.raw) is not None


def project_doc(name: str = "demo", **extra: Any) -> dict[str, Any]:
    wheel = {"filename": f"{name}-1.0-py3-none-any.whl", "size": 10, "packagetype": "bdist_wheel",
             "python_version": "py3", "upload_time_iso_8601": "2024-01-01T00:00:00.000000Z",
             "digests": {"sha256": "a" * 64, "blake2b_256": "b" * 64, "md5": "c" * 32}}
    doc: dict[str, Any] = {"info": {"name": name, "requires_dist": None},
                           "releases": {"1.0": [wheel]}, "last_serial": 7}
    doc.update(extra)
    return doc


def test_a_good_document_decodes() -> None:
    facts = decode_project(project_doc(), asked="Demo")
    assert facts.name == "demo" and facts.releases["1.0"][0].sha256 == "a" * 64


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["info"].update(name="urllib3"), "about 'urllib3'"),
        (lambda d: d["releases"].update({"2.0": d["releases"]["1.0"]}), "more than once"),
        (lambda d: d["releases"]["1.0"].append(d["releases"]["1.0"][0]), "more than once"),
        (lambda d: d["releases"].update({"9" * 600: []}), "releases"),
        (lambda d: d["releases"]["1.0"][0].update(size=-1), "size"),
        (lambda d: d["releases"]["1.0"][0].update(size="10"), "size"),
        (lambda d: d["releases"]["1.0"][0]["digests"].update(sha256="zz"), "sha256"),
        (lambda d: d["releases"]["1.0"][0].update(filename="x\x1b[2J.whl"), "filename"),
        (lambda d: d["releases"]["1.0"][0].update(packagetype="p" * 33), "packagetype"),
        (lambda d: d.update(last_serial=2**63), "last_serial"),
        (lambda d: d["info"].update(requires_dist=["x"] * 10_001), "requires_dist"),
        (lambda d: d.update(ownership={"roles": [{"role": "Owner", "user": "u" * 257}]}), "user"),
    ],
)
def test_bad_documents_are_refused_with_the_reason(mutate: Any, message: str) -> None:
    doc = project_doc()
    mutate(doc)
    with pytest.raises(RejectedDocument, match=message) as caught:
        decode_project(doc, asked="demo")
    assert caught.value.raw
