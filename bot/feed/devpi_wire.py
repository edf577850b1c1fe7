"""devpi's own serialization (devpi_server.fileutil dumps/loads), read with limits.

The replica changelog (`GET /+changelog/{serial}-`) is sent in devpi's tagged format: a
stack machine of one-byte opcodes over builtin values only (tuple, bytes, bool, float,
frozenset, int, dict, list, None, str, set, setitem, stop). It is not pickle or
marshal: it constructs no objects beyond those and runs no code. devpi's own loader is
still unfit for untrusted bytes: a list opcode pre-allocates as many slots as its
four-byte length says (5 bytes ask for 2**31 slots), and devpi-server is no runtime
dependency of index-warden. So this reader implements the same opcodes, with the limits
an answer from outside needs: the body is size-capped by the client, every length must
fit in the bytes that remain, collections and the stack are bounded, big integers are
limited in digits, and any fault is `WireError` (the page is refused, the cursor stays).
tests/bot/feed/test_devpi_wire.py checks it agrees with devpi's own `dumps`.
"""

from __future__ import annotations

import struct
from typing import Any

__all__ = ["WireError", "loads"]

MAX_ITEMS = 1_000_000  # values in one document (a 5 MB page holds far fewer)
MAX_DIGITS = 64  # a serial or a size; devpi writes big integers as decimal text


class WireError(ValueError):
    """The bytes are not a well-formed devpi document within the limits."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise WireError(f"truncated at byte {self.pos} (wanted {n} more)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def length(self) -> int:
        value = int.from_bytes(self.take(4), "big", signed=True)
        if value < 0:
            raise WireError(f"negative length at byte {self.pos - 4}")
        return value


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        raise WireError(f"unhashable {type(value).__name__} as a key or set member") from None
    return value


def loads(data: bytes) -> Any:
    """The value `data` encodes; WireError when it is malformed or exceeds the limits."""
    r = _Reader(data)
    stack: list[Any] = []
    made = 0
    while True:
        op = r.take(1)
        made += 1
        if made > MAX_ITEMS:
            raise WireError(f"more than {MAX_ITEMS} values")
        if op in (b"@", b"E", b"O"):  # tuple, frozenset, set of the last n values
            n = r.length()
            if n > len(stack):
                raise WireError(f"collection of {n} from a stack of {len(stack)}")
            items = stack[len(stack) - n :] if n else []
            del stack[len(stack) - n :]
            if op == b"@":
                stack.append(tuple(items))
            else:
                members = [_hashable(i) for i in items]
                stack.append(frozenset(members) if op == b"E" else set(members))
        elif op in (b"A", b"M"):  # bytes
            stack.append(r.take(r.length()))
        elif op in (b"N", b"S"):  # str
            try:
                stack.append(r.take(r.length()).decode("utf-8"))
            except UnicodeDecodeError:
                raise WireError(f"invalid UTF-8 in a string before byte {r.pos}") from None
        elif op == b"C":
            stack.append(False)
        elif op == b"R":
            stack.append(True)
        elif op == b"L":
            stack.append(None)
        elif op == b"D":
            stack.append(struct.unpack("!d", r.take(8))[0])
        elif op in (b"F", b"G"):
            stack.append(int.from_bytes(r.take(4), "big", signed=True))
        elif op in (b"H", b"I"):
            text = r.take(r.length())
            if len(text) > MAX_DIGITS or not text.lstrip(b"-").isdigit():
                raise WireError(f"not an integer of at most {MAX_DIGITS} digits")
            stack.append(int(text))
        elif op == b"J":
            stack.append({})
        elif op == b"K":  # a list of n slots, filled by setitem
            n = r.length()
            # Every slot is filled by a setitem of at least 3 bytes, so a real list can
            # never be longer than what remains of the body.
            if n > (len(r.data) - r.pos) or made + n > MAX_ITEMS:
                raise WireError(f"list of {n} slots cannot be filled by what remains")
            stack.append([None] * n)
            made += n
        elif op == b"P":  # setitem: container[key] = value
            if len(stack) < 3:
                raise WireError("setitem without a container, key and value")
            value, key = stack.pop(), stack.pop()
            target = stack[-1]
            if isinstance(target, dict):
                target[_hashable(key)] = value
            elif isinstance(target, list) and type(key) is int and 0 <= key < len(target):
                target[key] = value
            else:
                raise WireError(f"setitem on {type(target).__name__} with key "
                                f"{type(key).__name__}")
        elif op == b"Q":
            break
        else:
            raise WireError(f"unknown opcode {op!r} at byte {r.pos - 1}")
    if len(stack) != 1:
        raise WireError(f"{len(stack)} values left at the end, expected one")
    if r.pos != len(data):
        raise WireError(f"{len(data) - r.pos} bytes after the end")
    return stack[0]
