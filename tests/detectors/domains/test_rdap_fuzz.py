"""Fuzzing the RDAP path (issue #14): generated answers through the real parser, and
through the real client against the RDAP double.

Bodies are registry answers with parts replaced or removed (valid-ish), JSON text with
bytes flipped, inserted or cut, deep nesting and long numbers, and random bytes; the
double serves them with a status, a Retry-After and a Location that are generated too.
Whatever arrives, no exception escapes, the result is an observation with a state, and
a `found` record holds only what the store and a terminal can take.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.netdoubles import NetDoubles, RdapDomain, threaded
from bot.netdoubles.rdap import HOSTILE, render
from detectors.domains.ratelimit import retry_after_seconds
from detectors.domains.rdap import Bootstrap, RdapClient
from detectors.domains.rdap_parse import Malformed, decode, parse_domain
from detectors.domains.registry import (
    EARLIEST,
    LATEST,
    STATES,
    RegistryObservation,
    RegistryRecord,
    derive_state,
)

NOW = datetime(2026, 3, 2, tzinfo=UTC)
NAME = "example.com"
OUTCOMES = {"found", "not-found", "malformed", "error", "timeout", "rate-limited", "refused"}
BASES = [render(NAME, RdapDomain(state=state), "https://rdap.test/", style)
         for state in ("active", "grace", "redemption") for style in ("verisign", "pir")]
ODD_TEXT = st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "\x1b]0;pwned\x07", "[/]",
                            "²", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00", "NaN"])
TEXT = st.text(max_size=30) | ODD_TEXT
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300) | st.floats()
    | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30)


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) in a decoded JSON value."""
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, value in items:
        out.append((node, key))
        _slots(value, out)
    return out


@st.composite
def valid_ish(draw: st.DrawFn) -> Any:
    """A registry's answer with a few members replaced by anything, or removed."""
    answer = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 5))):
        slots = _slots(answer, [])
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        if draw(st.booleans()):
            container[key] = draw(JSON)
        elif isinstance(container, dict):
            del container[key]
        else:
            container.pop(key)
    return answer


def _encode(value: Any) -> bytes:
    # "surrogatepass": a lone surrogate becomes the invalid UTF-8 a hostile server sends
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """Valid JSON text with bytes flipped, inserted or cut off."""
    data = bytearray(_encode(draw(st.sampled_from(BASES))))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at]
        elif at > 0:
            del data[at:]
    return bytes(data)


def _nested(depth: int, opener: str) -> bytes:
    if opener == "[":
        return (b"[" * depth) + (b"]" * depth)
    return (b'{"a":' * depth) + b"1" + (b"}" * depth)


BODIES = st.one_of(
    valid_ish().map(_encode),
    mutated(),
    st.binary(max_size=400),
    st.builds(_nested, st.integers(1, 50_000), st.sampled_from(["[", "{"])),
    st.integers(1, 6000).map(lambda n: _encode(BASES[0]).replace(b'"9999"', b"9" * n, 1)),
    st.sampled_from(sorted(HOSTILE)).map(lambda kind: HOSTILE[kind](NAME)),
)


def assert_storable(record: RegistryRecord) -> None:
    """What a `found` record keeps can be stored (PostgreSQL text and JSON) and shown."""
    texts = [*record.statuses, *record.nameservers, *(a for a, _ in record.events)]
    texts += [t for t in (record.registrar, record.registrar_id) if t is not None]
    for text in texts:
        assert "\x00" not in text and len(text) <= 255
        text.encode("utf-8")  # no unpaired surrogate
    dates = [record.registered, record.expires, record.last_changed,
             *(w for _, w in record.events)]
    assert all(EARLIEST <= d < LATEST for d in dates if d is not None)
    assert len(record.nameservers) <= 64 and len(record.statuses) <= 64
    json.dumps(record.data(), allow_nan=False)


def assert_observation(obs: RegistryObservation) -> None:
    assert isinstance(obs, RegistryObservation) and obs.outcome in OUTCOMES
    assert obs.evidence == (obs.outcome in ("found", "not-found"))
    state, reason = derive_state(obs, NOW, 30)
    assert state in STATES and reason
    if not obs.evidence:
        assert state == "unknown" and obs.detail  # says why
    if obs.record is not None:
        assert_storable(obs.record)
    json.dumps(obs.data(), allow_nan=False)


# -- the parser ---------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(body=BODIES)
@example(body=b"[" * 100_000 + b"]" * 100_000)
@example(body=b'{"status": ["active"], "x": ' + b"1" * 5001 + b"}")
def test_parser_gives_a_record_or_a_reason(body: bytes) -> None:
    try:
        record = parse_domain(decode(body), expected=NAME)
    except Malformed as exc:
        assert str(exc) and len(str(exc)) <= 400
        return
    assert_storable(record)


@given(value=st.text(max_size=40) | st.sampled_from(["²", "٣", "9" * 5000, "1e9", "-0"]))
def test_retry_after_never_raises(value: str) -> None:
    seconds = retry_after_seconds(value)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


# -- the client against the double --------------------------------------------------------

class NoDns(AbstractResolver):
    """No name may be resolved: with only loopback bases, a lookup here is a bug."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET,
    ) -> list[ResolveResult]:
        raise AssertionError(f"the client tried to resolve {host!r}")

    async def close(self) -> None:
        return None


@pytest.fixture(scope="module")
def served() -> Iterator[NetDoubles]:
    with threaded() as doubles:
        yield doubles


# Header text an HTTP server can send (no control characters), odd digits included.
HEADER = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40) | st.sampled_from(
    ["²", "1²", "Wed, 21 Oct 2015 07:28:00 GMT", "0", "/domain/example.com", "//evil.example/",
     "http://169.254.169.254/latest/meta-data/", "https://[fd00:ec2::254]/", "../../admin"])


async def _lookup(base: str) -> RegistryObservation:
    client = RdapClient(Bootstrap({"com": base}), override_url=base, rate=1000.0, timeout=5.0,
                        max_retries=1, max_retry_after=0.05, resolver=NoDns())
    try:
        return await client.lookup(NAME)
    finally:
        await client.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(status=st.sampled_from([200, 200, 200, 404, 429, 500, 301, 302, 307, 308]),
       body=BODIES, retry_after=st.none() | HEADER, location=st.none() | HEADER)
@example(status=429, body=b"{}", retry_after="²", location=None)
@example(status=302, body=b"", retry_after=None,
         location="http://169.254.169.254/latest/meta-data/")
def test_client_gives_an_observation_whatever_the_server_sends(
    served: NetDoubles, status: int, body: bytes, retry_after: str | None, location: str | None,
) -> None:
    headers = {k: v for k, v in (("Retry-After", retry_after), ("Location", location)) if v}
    served.rdap.set_raw(NAME, status, body, **headers)
    obs = asyncio.run(_lookup(served.rdap.base_url))
    assert_observation(obs)
