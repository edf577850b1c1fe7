"""The defused XML-RPC decoder: the standard library's values, without its exposure to
entity expansion, and a clear error for everything else."""

from __future__ import annotations

import xmlrpc.client

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.feed.pypi import decode_changelog_body
from bot.feed.xmlrpc import MalformedResponse, RemoteFault, decode_response

# Warehouse's pages: project names, versions, actions with file names and e-mail addresses.
printable = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
entry = st.tuples(printable.filter(bool), st.none() | printable,
                  st.integers(0, 2**31 - 1), printable, st.integers(0, 2**31 - 1))


def page(entries: list[tuple[object, ...]]) -> bytes:
    return xmlrpc.client.dumps((entries,), methodresponse=True, allow_none=True).encode()


def standard(body: bytes) -> object:
    """What xmlrpc.client itself makes of a body: the value, or the kind of refusal."""
    try:
        (value,), _ = xmlrpc.client.loads(body, use_builtin_types=True)
    except xmlrpc.client.Fault:
        return "fault"
    except Exception:  # expat and the unmarshaller raise many types on garbage
        return "refused"
    return value


def ours(body: bytes) -> object:
    try:
        return decode_response(body)
    except RemoteFault:
        return "fault"
    except MalformedResponse as exc:
        assert str(exc)
        return "refused"


@given(st.lists(entry, max_size=8))
def test_warehouse_pages_decode_to_their_entries(entries: list[tuple[object, ...]]) -> None:
    body = page(entries)
    decoded = decode_response(body)
    assert decoded == standard(body) and [tuple(e) for e in decoded] == entries
    assert decode_changelog_body(body).size == len(entries)


# Spellings and damage an index (or an attacker in its place) may send.
TOKENS = [b"<!--c-->", b"&#65;", b"&#x41;", b"\r", b"\r\n", b"<![CDATA[x]]>", b"]]>", b"<i4>",
          b"</i4>", b"<int>", b"</string>", b"<string>", b"<value>", b"</value>", b"<nil/>",
          b"<string/>", b"&amp;", b"&bogus;", b"&", b"<", b">", b" ", b"\t", b"\x00", b"\x01",
          b"\xef\xbf\xbe", b"\xff", b"<fault>", b"+", b"-", b"1", b"a",
          b"<?xml version='1.0'?>", b"<methodResponse>", b"<data>", b"</data>"]


@settings(max_examples=400)
@given(st.lists(entry, min_size=1, max_size=3), st.data())
def test_damaged_pages_get_the_standard_answer_or_a_clear_refusal(
        entries: list[tuple[object, ...]], data: st.DataObject) -> None:
    body = page(entries)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(body)))
        cut = data.draw(st.integers(0, 8))
        body = body[:at] + data.draw(st.sampled_from([*TOKENS, b""])) + body[at + cut:]
    # Without a DTD the defused parser is expat itself: the same value, or a refusal
    # where the standard library refuses too.
    assert ours(body) == standard(body), body


def test_other_spellings_of_a_page_read_alike() -> None:
    body = page([("demo", "1.0", 1652529600, "new release", 1)])
    for old, new in [(b"<int>1652529600</int>", b"<i4>1652529600</i4>"),
                     (b"\n", b"\r\n"), (b"<string>demo</string>", b"<string>&#100;emo</string>"),
                     (b"<string>demo</string>", b"<string><![CDATA[demo]]></string>"),
                     (b"<string>demo</string>", b"demo")]:  # a bare value is a string
        spelt = body.replace(old, new)
        assert spelt != body
        assert [(e.project, e.serial) for e in decode_changelog_body(spelt).events] == [
            ("demo", 1)], new


LAUGHS = b"".join(
    b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%d;" % (i - 1) for _ in range(10)))
    for i in range(1, 10))
HOSTILE = {
    "billion laughs": b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY lol0 "lol">' + LAUGHS
    + b']><methodResponse><params><param><value><string>&lol9;</string></value></param>'
    b"</params></methodResponse>",
    "external entity": b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM '
    b'"file:///etc/passwd">]><methodResponse><params><param><value><string>&x;</string>'
    b"</value></param></params></methodResponse>",
    "bare DTD": b'<?xml version="1.0"?><!DOCTYPE methodResponse><methodResponse><params>'
    b"<param><value><array><data></data></array></value></param></params></methodResponse>",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_dtds_and_entities_are_refused_before_any_expansion(name: str) -> None:
    with pytest.raises(MalformedResponse, match="refused XML-RPC response"):
        decode_response(HOSTILE[name])
    with pytest.raises(MalformedResponse):
        decode_changelog_body(HOSTILE[name])


def test_a_fault_says_its_code_and_string() -> None:
    fault = xmlrpc.client.dumps(xmlrpc.client.Fault(7, "boom"), methodresponse=True).encode()
    with pytest.raises(RemoteFault, match="XML-RPC fault 7: boom"):
        decode_changelog_body(fault)


@pytest.mark.parametrize(("body", "said"), [
    (b"", "bad XML-RPC response"),
    (b"<methodResponse><params></params></methodResponse>", "has 0 values, expected 1"),
    (page([]).replace(b"</param>", b"</param><param><value><int>2</int></value></param>"),
     "has 2 values, expected 1"),
    (page([]).replace(b"<data>", b"<data><value><int>x</int></value>", 1), "ValueError"),
])
def test_bodies_that_are_no_single_value_are_refused_with_the_reason(
        body: bytes, said: str) -> None:
    with pytest.raises(MalformedResponse, match=said):
        decode_response(body)


def test_a_value_that_is_not_a_list_is_no_page() -> None:
    body = xmlrpc.client.dumps(({"serial": 1},), methodresponse=True).encode()
    with pytest.raises(MalformedResponse, match="changelog is dict, expected an array"):
        decode_changelog_body(body)
