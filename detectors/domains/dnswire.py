"""The few DNS wire formats the sweep's hot path needs: an NS/MX/SOA query and its answer.

dnspython builds and parses whole messages into objects, which costs a sweep of
100,000 domains most of its time; the pipelined transport only needs the rcode and
the NS, MX or SOA records for the name it asked. So the query is encoded here and
the answer read here: header, the question echoed back byte for byte, then the answer
records for that name (compression pointers followed, loops refused). Anything else
is a `WireError`, which the transport reports as a malformed answer (never evidence).
The tests check this reader against dnspython's parser on generated messages.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import dns.name

NS, SOA, MX = 2, 6, 15
WANTED = frozenset({NS, SOA, MX})
_HEADER = struct.Struct(">HHHHHH")
_RR = struct.Struct(">HHIH")
_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_*")


class WireError(ValueError):
    """Not a well-formed answer to the question asked."""


@dataclass(frozen=True, slots=True)
class Record:
    rdtype: int
    value: str | tuple[int, str] | tuple[str, str, int]  # NS host, MX (pref, host), SOA


@dataclass(frozen=True, slots=True)
class Answer:
    rcode: int
    truncated: bool
    records: tuple[Record, ...]


def encode_name(name: str) -> bytes:
    """An ASCII (A-label) domain name in wire form; WireError if it is not one."""
    out = bytearray()
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii", "strict") if label.isascii() else b""
        if not 0 < len(raw) < 64:
            raise WireError(f"bad label in {name!r}")
        out.append(len(raw))
        out += raw
    if len(out) > 254:
        raise WireError(f"name too long: {name!r}")
    return bytes(out) + b"\x00"


def encode_query(qid: int, name: str, rdtype: int) -> tuple[bytes, bytes]:
    """(query message, its question section): recursion desired, class IN."""
    question = encode_name(name) + struct.pack(">HH", rdtype, 1)
    return _HEADER.pack(qid, 0x0100, 1, 0, 0, 0) + question, question


def read_name(wire: bytes, offset: int) -> tuple[str, int]:
    """(lower-case name, offset after it in the record), following compression pointers."""
    labels: list[str] = []
    end = -1
    jumps = 0
    while True:
        if offset >= len(wire):
            raise WireError("name runs past the end")
        size = wire[offset]
        if size & 0xC0 == 0xC0:
            if offset + 1 >= len(wire):
                raise WireError("pointer runs past the end")
            target = ((size & 0x3F) << 8) | wire[offset + 1]
            if end < 0:
                end = offset + 2
            jumps += 1
            if jumps > 64 or target >= offset:
                raise WireError("compression loop")
            offset = target
            continue
        if size & 0xC0:
            raise WireError("unknown label type")
        offset += 1
        if size == 0:
            break
        if offset + size > len(wire):
            raise WireError("label runs past the end")
        label = wire[offset:offset + size]
        if _PLAIN.issuperset(label):
            labels.append(label.decode("ascii").lower())
        else:  # rare: spelt as dnspython spells it (\DDD escapes), so no NUL or "." in a label
            labels.append(dns.name.Name([label]).to_text(omit_final_dot=True).lower())
        offset += size
    return ".".join(labels), end if end >= 0 else offset


def _rdata(wire: bytes, rdtype: int, start: int, end: int) -> Record:
    if rdtype == NS:
        host, stop = read_name(wire, start)
        value: str | tuple[int, str] | tuple[str, str, int] = host
    elif rdtype == MX:
        if end - start < 3:
            raise WireError("short MX record")
        host, stop = read_name(wire, start + 2)
        value = (struct.unpack_from(">H", wire, start)[0], host)
    else:
        mname, at = read_name(wire, start)
        rname, at = read_name(wire, at)
        if at + 20 > end:
            raise WireError("short SOA record")
        value, stop = (mname, rname, struct.unpack_from(">I", wire, at)[0]), at + 20
    if stop > end:
        raise WireError("record data runs past its length")
    return Record(rdtype, value)


def parse_answer(wire: bytes, question: bytes) -> Answer:
    """The rcode and the NS/MX/SOA answer records for the asked name."""
    if len(wire) < 12 + len(question):
        raise WireError("shorter than a header and the question")
    _, flags, qdcount, ancount, _, _ = _HEADER.unpack_from(wire)
    if not flags & 0x8000 or (flags >> 11) & 0xF or qdcount != 1:
        raise WireError("not a response to a standard query")
    if wire[12:12 + len(question)].lower() != question.lower():
        raise WireError("answer does not match the question")
    qname, _ = read_name(wire, 12)
    offset = 12 + len(question)
    records: list[Record] = []
    for _ in range(ancount):
        owner, offset = read_name(wire, offset)
        if offset + _RR.size > len(wire):
            raise WireError("record header runs past the end")
        rdtype, rdclass, _, length = _RR.unpack_from(wire, offset)
        start = offset + _RR.size
        offset = start + length
        if offset > len(wire):
            raise WireError("record data runs past the end")
        if rdtype in WANTED and rdclass == 1 and owner == qname:
            records.append(_rdata(wire, rdtype, start, offset))
    return Answer(flags & 0xF, bool(flags & 0x0200), tuple(records))
