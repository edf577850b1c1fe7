"""The devpi changelog reader agrees with devpi's own serializer and refuses hostile bytes
within its limits (no unbounded allocation, no code, no crash)."""

from __future__ import annotations

import contextlib
import struct

import pytest
from devpi_server.fileutil import dumps
from hypothesis import given
from hypothesis import strategies as st

from bot.feed.devpi_wire import WireError, loads

_scalars = (st.none() | st.booleans() | st.integers(-(2**31), 2**40) | st.text(max_size=20)
            | st.binary(max_size=20) | st.floats(allow_nan=False))
_keys = st.text(max_size=10) | st.integers(-1000, 1000)
_values = st.recursive(
    _scalars,
    lambda inner: (st.lists(inner, max_size=5) | st.tuples(inner, inner)
                   | st.dictionaries(_keys, inner, max_size=5)
                   | st.frozensets(st.text(max_size=5), max_size=4)),
    max_leaves=30)


@given(_values)
def test_agrees_with_devpis_dumps(value: object) -> None:
    assert loads(dumps(value)) == value


def test_a_real_changelog_shape() -> None:
    entry = [(4, {"alice/internal/+f/50c/f5/a-1.0.whl": (
        "STAGEFILE", -1, {"hashes": {"sha256": "5" * 64}, "project": "a", "version": "1.0"}),
        "alice/.config": ("USER", 2, {"pwhash": "x", "indexes": {}})})]
    assert loads(dumps(entry)) == entry


@pytest.mark.parametrize("data", [
    b"K" + struct.pack("!i", 2**31 - 1) + b"Q",  # a list of 2**31 slots from 5 bytes
    b"K" + struct.pack("!i", -1) + b"Q",
    b"A" + struct.pack("!i", 10**9) + b"Q",  # longer than the body
    b"H" + struct.pack("!i", 5000) + b"9" * 5000 + b"Q",  # an integer of 5,000 digits
    b"H" + struct.pack("!i", 3) + b"1e3Q",
    b"@" + struct.pack("!i", 3) + b"Q",  # a tuple of values never pushed
    b"JJLPQ",  # a dict as a dict key
    b"LLPQ",  # setitem on None
    b"cQ", b"", b"L", b"LLQ", b"LQjunk",
    b"S" + struct.pack("!i", 2) + b"\xff\xfeQ",
    b"\x80\x04\x95" + b"pickle",
])
def test_hostile_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(WireError):
        loads(data)


@given(st.binary(max_size=200))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(WireError):
        loads(data)
