"""The sweep's DNS wire reader agrees with dnspython, and refuses what is not an answer."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.domains import dnswire
from detectors.domains.dnsclient import reply_from_message

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
NAME = st.lists(LABEL, min_size=2, max_size=4).map(".".join)
TYPES = {"NS": dnswire.NS, "MX": dnswire.MX, "SOA": dnswire.SOA}


@dataclass(frozen=True)
class Case:
    """What an answer holds; `build` makes it (dnspython draws randomness: not in here)."""

    qname: str
    rdtype: str
    qid: int
    hosts: tuple[str, ...]
    rcode: dns.rcode.Rcode
    other: bool
    truncated: bool


ANSWERS = st.builds(
    Case, qname=NAME.map(lambda n: n + "."), rdtype=st.sampled_from(sorted(TYPES)),
    qid=st.integers(0, 0xFFFF), hosts=st.lists(NAME, max_size=4, unique=True).map(tuple),
    rcode=st.sampled_from([dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL,
                           dns.rcode.REFUSED]),
    other=st.booleans(), truncated=st.booleans(),
)


def build(case: Case) -> tuple[bytes, bytes, dns.message.Message]:
    """The answer built and compressed by dnspython, and the question we would send."""
    qname, rdtype, hosts = case.qname, case.rdtype, case.hosts
    wire, question = dnswire.encode_query(case.qid, qname, TYPES[rdtype])
    response = dns.message.make_response(dns.message.from_wire(wire))
    response.set_rcode(case.rcode)
    if hosts and rdtype == "NS":
        response.answer.append(dns.rrset.from_text(qname, 300, "IN", "NS",
                                                   *(h + "." for h in hosts)))
    elif hosts and rdtype == "MX":
        response.answer.append(dns.rrset.from_text(
            qname, 300, "IN", "MX", *(f"{i * 10} {h}." for i, h in enumerate(hosts))))
    elif hosts:
        response.answer.append(dns.rrset.from_text(
            qname, 300, "IN", "SOA", f"{hosts[0]}. hostmaster.{qname} 7 1 2 3 4"))
    if case.other:  # records about other names are ignored
        response.answer.append(dns.rrset.from_text("other." + qname, 300, "IN", "A", "192.0.2.1"))
    if case.truncated:
        response.flags |= dns.flags.TC
    return response.to_wire(), question, response


@settings(max_examples=200)
@given(ANSWERS)
def test_reader_agrees_with_dnspython(case: Case) -> None:
    wire, question, message = build(case)
    ours = dnswire.parse_answer(wire, question)
    theirs = reply_from_message(dns.message.from_wire(wire))
    assert ours.rcode == theirs.rcode == message.rcode()
    assert ours.truncated == bool(message.flags & dns.flags.TC)
    assert sorted(ours.records, key=repr) == sorted(theirs.records, key=repr)


@given(st.binary(max_size=200), NAME)
def test_any_bytes_are_an_answer_or_refused(data: bytes, qname: str) -> None:
    _, question = dnswire.encode_query(1, qname, dnswire.NS)
    try:
        answer = dnswire.parse_answer(data, question)
    except dnswire.WireError:
        return
    assert 0 <= answer.rcode <= 15


@settings(max_examples=200)
@given(ANSWERS, st.integers(0, 300), st.integers(0, 255))
def test_corrupted_answers_never_crash(case: Case, at: int, byte: int) -> None:
    wire, question, _ = build(case)
    corrupted = wire[:at] + bytes([byte]) + wire[at + 1:]
    for broken in (corrupted, wire[: at % (len(wire) + 1)]):
        with contextlib.suppress(dnswire.WireError):  # refused is fine; any other error is not
            answer = dnswire.parse_answer(broken, question)
            assert all(r.rdtype in dnswire.WANTED for r in answer.records)


def test_compression_loops_and_bad_names_are_refused() -> None:
    _, question = dnswire.encode_query(1, "example.org", dnswire.NS)
    header = b"\x00\x01\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
    looping = header + question + b"\xc0\x1d" + b"\x00\x02\x00\x01\x00\x00\x01\x2c\x00\x02\xc0\x1d"
    with pytest.raises(dnswire.WireError):
        dnswire.parse_answer(looping, question)
    with pytest.raises(dnswire.WireError, match="does not match"):
        dnswire.parse_answer(header + dnswire.encode_query(1, "exempla.org", 2)[1], question)
    for bad in ("", "a..b", "x" * 64 + ".com", "bücher.de"):
        with pytest.raises(dnswire.WireError):
            dnswire.encode_name(bad)
