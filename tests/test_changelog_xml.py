"""The changelog fast path reads exactly what the standard decoder reads, or declines."""

from __future__ import annotations

import xmlrpc.client

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.feed.changelog_xml import fast_changelog
from bot.feed.pypi import decode_changelog_body
from bot.feed.xmlrpc import MalformedResponse, decode_response

# Warehouse's pages: project names, versions, actions with file names and e-mail addresses.
printable = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
anything = st.text(max_size=30)  # control characters, \r, lone surrogates' neighbours...
entry = st.tuples(printable.filter(bool), st.none() | printable,
                  st.integers(0, 2**31 - 1), printable, st.integers(0, 2**31 - 1))


def page(entries: list[tuple[object, ...]]) -> bytes:
    return xmlrpc.client.dumps((entries,), methodresponse=True, allow_none=True).encode()


def standard(body: bytes) -> list[tuple[object, ...]] | None:
    try:
        return [tuple(e) for e in decode_response(body)]
    except MalformedResponse:
        return None


@given(st.lists(entry, max_size=8))
def test_fast_path_reads_warehouse_pages_as_the_standard_decoder_does(
        entries: list[tuple[object, ...]]) -> None:
    body = page(entries)
    fast = fast_changelog(body)
    assert fast is not None, body  # pages as Warehouse writes them take the fast path
    assert fast == standard(body) == entries


@given(st.lists(st.tuples(anything, st.none() | anything, st.integers(-2**31, 2**31 - 1), anything,
                          st.integers(0, 2**31 - 1)), max_size=4))
def test_fast_path_never_disagrees_on_odd_text(entries: list[tuple[object, ...]]) -> None:
    body = page(entries)
    fast = fast_changelog(body)
    if fast is not None:
        assert fast == standard(body)


TOKENS = [b"<!--c-->", b"&#65;", b"&#x41;", b"\r", b"\r\n", b"<![CDATA[x]]>", b"]]>", b"<i4>",
          b"</i4>", b"<int>", b"</string>", b"<string>", b"<value>", b"</value>", b"<nil/>",
          b"<string/>", b"&amp;", b"&bogus;", b"&", b"<", b">", b" ", b"\t", b"\x00", b"\x01",
          b"\xef\xbf\xbe", b"\xff", b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"<fault>", b"+", b"-",
          b"1", b"a", b"<?xml version='1.0'?>", b"<methodResponse>", b"<data>", b"</data>"]


@settings(max_examples=400)
@given(st.lists(entry, min_size=1, max_size=3), st.data())
def test_fast_path_never_disagrees_on_damaged_pages(
        entries: list[tuple[object, ...]], data: st.DataObject) -> None:
    body = page(entries)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(body)))
        cut = data.draw(st.integers(0, 8))
        body = body[:at] + data.draw(st.sampled_from([*TOKENS, b""])) + body[at + cut:]
    fast = fast_changelog(body)
    if fast is not None:
        assert fast == standard(body), body


RAW_TEXT = ["a", " ", "\t", "\n", "\r", "\r\n", "é", ">", "]]>", "]]", "&amp;", "&lt;", "&quot;",
            "&#65;", "&#x41;", "&#13;", "&#0;", "\ufffe", "\uffff", "\x01", "\x7f", "\u2028"]


@settings(max_examples=300)
@given(st.lists(st.sampled_from(RAW_TEXT), max_size=6).map("".join),
       st.sampled_from(["name", "version", "action"]))
def test_fast_path_never_disagrees_on_raw_character_data(raw: str, field: str) -> None:
    body = page([("name", "version", 5, "action", 1)])
    body = body.replace(f"<string>{field}</string>".encode(), f"<string>{raw}</string>".encode())
    fast = fast_changelog(body)
    if fast is not None:
        assert fast == standard(body), raw


@given(st.lists(st.sampled_from(["1", "0", " ", "+", "-", "_", "a", "\u0663", "\n", "x1"]),
                max_size=4).map("".join))
def test_fast_path_never_disagrees_on_raw_integers(raw: str) -> None:
    body = page([("name", "version", 5, "action", 1)]).replace(b"<int>5</int>",
                                                             f"<int>{raw}</int>".encode())
    fast = fast_changelog(body)
    if fast is not None:
        assert fast == standard(body), raw


def test_declined_bodies_still_get_the_standard_answer_or_error() -> None:
    body = page([("demo", "1.0", 1652529600, "new release", 1)]).replace(
        b"<int>1652529600</int>", b"<i4>1652529600</i4>")
    assert fast_changelog(body) is None
    assert [(e.project, e.serial) for e in decode_changelog_body(body).events] == [("demo", 1)]
    fault = xmlrpc.client.dumps(xmlrpc.client.Fault(1, "boom"), methodresponse=True).encode()
    assert fast_changelog(fault) is None
    try:
        decode_changelog_body(fault)
    except MalformedResponse as exc:
        assert "boom" in str(exc)
    else:
        raise AssertionError("a fault decoded as a page")
