"""Whatever a resolver sends back, the DNS client gives a `Reply` and never evidence it
did not get: an answer counts only when dnspython parsed it and it answers the question
asked; anything else is an `error` or a `timeout`, and nothing raises.

The answers are made per query by the DNS double (`set_raw`): built by dnspython and
then forged, corrupted, cut or replaced by random bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.netdoubles import NetDoubles, threaded
from detectors.domains.dns import DnsProbe
from detectors.domains.dnsclient import DnsClient, Reply, query_name

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
NAME = st.lists(LABEL, min_size=2, max_size=4).map(".".join)
ASKED = "example.org"
Answer = Callable[[bytes], bytes | None]


@pytest.fixture(scope="module")
def served() -> Iterator[NetDoubles]:
    with threaded() as doubles:
        yield doubles


def ask(doubles: NetDoubles, answer: Answer, rdtype: str = "NS", timeout: float = 0.3,
        name: str = ASKED) -> Reply:
    doubles.dns.set_raw(name, answer)
    host, port = doubles.dns.address

    async def go() -> Reply:
        return await DnsClient(host, port, timeout, 2).query(
            name, dns.rdatatype.RdataType.make(rdtype))

    return asyncio.run(go())


@dataclass(frozen=True)
class Case:
    """What an answer holds; `respond` builds it (dnspython draws randomness: not in here)."""

    rdtype: str
    hosts: tuple[str, ...]
    rcode: dns.rcode.Rcode
    other: bool
    truncated: bool

    def respond(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        qname = query.question[0].name
        response = dns.message.make_response(query)
        response.set_rcode(self.rcode)
        if self.hosts and self.rdtype == "NS":
            response.answer.append(dns.rrset.from_text(qname, 300, "IN", "NS",
                                                       *(h + "." for h in self.hosts)))
        elif self.hosts and self.rdtype == "MX":
            response.answer.append(dns.rrset.from_text(
                qname, 300, "IN", "MX", *(f"{i * 10} {h}." for i, h in enumerate(self.hosts))))
        elif self.hosts:
            response.answer.append(dns.rrset.from_text(
                qname, 300, "IN", "SOA", f"{self.hosts[0]}. hostmaster.{qname} 7 1 2 3 4"))
        if self.other:  # records about other names are not about the domain
            response.answer.append(dns.rrset.from_text(
                "ns1.other.example.", 300, "IN", self.rdtype,
                {"NS": "ns.x.", "MX": "10 mx.x.", "SOA": "a. b. 1 2 3 4 5"}[self.rdtype]))
        if self.truncated:
            response.flags |= dns.flags.TC
        return response.to_wire()


CASES = st.builds(
    Case, rdtype=st.sampled_from(["MX", "NS", "SOA"]),
    hosts=st.lists(NAME, max_size=4, unique=True).map(tuple),
    rcode=st.sampled_from([dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL,
                           dns.rcode.REFUSED]),
    other=st.booleans(), truncated=st.booleans(),
)
SLOW = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@SLOW
@given(CASES)
def test_an_answer_gives_the_records_of_the_name_asked(served: NetDoubles, case: Case) -> None:
    reply = ask(served, case.respond, case.rdtype)
    assert reply.failure is None and reply.rcode == case.rcode
    sent: dict[str, list[object]] = {"NS": list(case.hosts), "MX": [
        (i * 10, h) for i, h in enumerate(case.hosts)], "SOA": [
        (case.hosts[0], f"hostmaster.{ASKED}", 7)] if case.hosts else []}
    got = {"NS": list(reply.ns), "MX": list(reply.mx), "SOA": [reply.soa] if reply.soa else []}
    assert sorted(got.pop(case.rdtype), key=repr) == sorted(sent[case.rdtype], key=repr)
    assert list(got.values()) == [[], []]


def reachable(reply: Reply) -> None:
    """What a reply to any bytes may be: a parsed rcode, or a failure that is no evidence."""
    if reply.failure is None:
        assert reply.rcode is not None and 0 <= reply.rcode <= 4095
    else:
        assert reply.failure in ("error", "timeout") and reply.detail
        assert (reply.rcode, reply.ns, reply.mx, reply.soa) == (None, (), (), None)


@SLOW
@given(st.binary(max_size=200))
def test_any_bytes_are_an_answer_or_refused(served: NetDoubles, data: bytes) -> None:
    reachable(ask(served, lambda wire: wire[:2] + data))  # the query's id, then anything


@SLOW
@given(CASES, st.integers(0, 300), st.integers(0, 255))
def test_corrupted_or_cut_answers_never_raise(
        served: NetDoubles, case: Case, at: int, byte: int) -> None:
    def corrupted(wire: bytes) -> bytes:
        good = case.respond(wire)
        return good[:at] + bytes([byte]) + good[at + 1:]

    def cut(wire: bytes) -> bytes:
        return case.respond(wire)[: max(2, at)]

    for answer in (corrupted, cut):
        reachable(ask(served, answer, case.rdtype))


def forged(change: Callable[[dns.message.Message], None]) -> Answer:
    """An NXDOMAIN answer to the query, then changed."""
    def answer(wire: bytes) -> bytes:
        response = dns.message.make_response(dns.message.from_wire(wire))
        response.set_rcode(dns.rcode.NXDOMAIN)
        change(response)
        return response.to_wire()
    return answer


def _other_question(response: dns.message.Message) -> None:
    response.question[0] = dns.rrset.RRset(dns.name.from_text("exempla.org"), 1, 2)


def _other_type(response: dns.message.Message) -> None:
    response.question[0] = dns.rrset.RRset(response.question[0].name, 1, 15)


def _no_question(response: dns.message.Message) -> None:
    response.question.clear()


def _other_id(response: dns.message.Message) -> None:
    response.id ^= 0x5A5A


def _not_a_response(response: dns.message.Message) -> None:
    response.flags &= ~dns.flags.QR


@pytest.mark.parametrize("change", [_other_question, _other_type, _no_question, _other_id,
                                    _not_a_response])
def test_an_answer_to_another_question_is_no_evidence(
        served: NetDoubles, change: Callable[[dns.message.Message], None]) -> None:
    reply = ask(served, forged(change))
    assert (reply.failure, reply.rcode) == ("error", None)
    assert reply.detail.startswith("malformed answer: ")
    assert ask(served, forged(lambda r: None)).rcode == dns.rcode.NXDOMAIN  # unchanged: evidence


def test_the_question_is_matched_whatever_its_case(served: NetDoubles) -> None:
    def shouting(wire: bytes) -> bytes:
        response = dns.message.make_response(dns.message.from_wire(wire))
        response.question[0] = dns.rrset.RRset(dns.name.from_text("EXAMPLE.Org"), 1, 2)
        response.answer.append(dns.rrset.from_text("EXAMPLE.ORG.", 300, "IN", "NS", "NS1.X."))
        return response.to_wire()

    assert ask(served, shouting).ns == ("ns1.x",)


def test_compression_loops_and_trailing_bytes_are_refused(served: NetDoubles) -> None:
    def looping(wire: bytes) -> bytes:  # one answer record whose owner points at itself
        header = wire[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
        at = len(wire)
        return header + wire[12:] + bytes([0xC0 | at >> 8, at & 0xFF]) + \
            b"\x00\x02\x00\x01\x00\x00\x01\x2c\x00\x02\xc0\x0c"

    assert ask(served, looping).detail.startswith("malformed answer: ")
    trailing = forged(lambda r: None)
    reply = ask(served, lambda wire: (trailing(wire) or b"") + b"junk")
    assert reply.failure == "error" and "TrailingJunk" in reply.detail


def test_a_lost_answer_is_asked_again(served: NetDoubles) -> None:
    calls: list[int] = []

    def second_time_lucky(wire: bytes) -> bytes | None:
        calls.append(1)
        return None if len(calls) == 1 else Case("NS", ("ns1.x",), dns.rcode.NOERROR,
                                                 False, False).respond(wire)

    reply = ask(served, second_time_lucky)
    assert (reply.ns, len(calls)) == (("ns1.x",), 2)


@pytest.mark.parametrize("bad", ["", ".", "a..b", "x" * 64 + ".com",
                                 ".".join(["x" * 60] * 5), "bücher.de"])
def test_names_that_are_no_a_label_domain_are_not_asked(served: NetDoubles, bad: str) -> None:
    with pytest.raises(ValueError):
        query_name(bad)
    before = served.dns.queries
    host, port = served.dns.address
    obs = asyncio.run(DnsProbe(DnsClient(host, port, 0.3, 2)).observe(bad))
    assert (obs.outcome, obs.evidence) == ("error", False)
    assert obs.detail.startswith("bad query name: ") and served.dns.queries == before


def test_label_bytes_are_sent_as_they_are() -> None:
    # Not read as escapes: a backslash is a byte of the label, not "\046" meaning "."
    assert query_name("a\\046b.org").labels == (b"a\\046b", b"org", b"")
    assert query_name("Example.ORG.") == dns.name.from_text("example.org")
