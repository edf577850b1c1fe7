"""Fault injection for the index double: the bad answers a real index (or its CDN) gives.

A :class:`FaultPlan` is a queue of faults. Each request takes the first queued fault
whose ``path`` prefix matches it (or that has none), uses it once and drops it after
``count`` uses. The payloads here are the hostile or broken bodies a client of PyPI
must survive: cut off, unparseable, an entity bomb, far larger than it should be, or an
XML-RPC fault whose string the attacker wrote (``message``).

Hostile answers that need the index's own data are rendered by the server
(``IndexDoubleServer``): ``resend`` (the changelog page after ``since``, whatever was
asked), ``overlap`` (the page starting ``back`` serials early), ``poison`` (the real
page with crafted ``entries`` appended, big integers included), ``mismatch`` (the JSON
document of project ``other``). ``head`` makes changelog_last_serial say ``since``.
``body`` answers with a raw ``body`` (and ``status``) of the caller's choosing,
``redirect`` with a 302 to ``location``; a ``429`` carries ``retry_after`` as its
Retry-After header.
"""

from __future__ import annotations

import asyncio
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from aiohttp import web

__all__ = ["DATA_FAULTS", "FAULT_KINDS", "Fault", "FaultKind", "FaultPlan", "dumps_page",
           "render_fault"]

FaultKind = Literal["429", "500", "503", "truncated", "invalid", "entity", "slow", "oversize",
                    "rpc-fault", "resend", "overlap", "poison", "mismatch", "body", "redirect",
                    "head"]
# The kinds the server renders from its own data (see IndexDoubleServer._render); the
# changelog ones hit only changelog_since_serial calls, "head" only changelog_last_serial.
DATA_FAULTS = frozenset({"resend", "overlap", "poison", "mismatch"})
_METHOD_OF = {"resend": "changelog_since_serial", "overlap": "changelog_since_serial",
              "poison": "changelog_since_serial", "head": "changelog_last_serial"}
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))

DEFAULT_DELAY = 5.0
DEFAULT_OVERSIZE = 80 * 1024 * 1024
DEFAULT_MESSAGE = "server error; injected fault"

_XML_CT = "text/xml"
_JSON_CT = "application/json"

# Small on the wire, about 3 GB once every entity is expanded.
ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE methodResponse [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%s;" % (b"%d" % (i - 1) if i > 1 else b"")) * 10)
        for i in range(1, 10)
    )
    + b"]>\n<methodResponse><params><param><value><string>&lol9;</string></value>"
    b"</param></params></methodResponse>\n"
)
INVALID_XML = b"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><int>12"
INVALID_JSON = b'{"info": {"name": "broken", "version": '

_OVERSIZE_PARTS = {
    _XML_CT: (
        b"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n"
        b"<value><array><data>\n",
        b"</data></array></value>\n</param>\n</params>\n</methodResponse>\n",
    ),
    _JSON_CT: (b"{", b'"info": {}, "releases": {}, "urls": []}\n'),
}


_EXTRA_FIELDS = frozenset({"since", "back", "entries", "other", "body", "location", "status",
                           "retry_after"})


def dumps_page(value: Any) -> bytes:
    """A methodResponse (a changelog page, a last serial) as Warehouse renders one, but
    without xmlrpc's 32-bit limit on integers (a hostile index sends any number of digits)."""
    marshaller = _AnyIntMarshaller("utf-8", allow_none=True)
    return ("<?xml version='1.0'?>\n<methodResponse>\n" + marshaller.dumps((value,))
            + "</methodResponse>\n").encode("utf-8", "surrogatepass")


def _dump_any_int(_: xmlrpc.client.Marshaller, value: Any, write: Callable[[str], object]
                  ) -> None:
    write(f"<value><int>{value}</int></value>\n")


class _AnyIntMarshaller(xmlrpc.client.Marshaller):
    dispatch = {**xmlrpc.client.Marshaller.dispatch, int: _dump_any_int}


@dataclass
class Fault:
    """One queued fault; ``count`` is how many more requests it will hit."""

    kind: FaultKind
    count: int = 1
    path: str | None = None
    delay: float = DEFAULT_DELAY
    size: int = DEFAULT_OVERSIZE
    message: str = DEFAULT_MESSAGE  # the faultString of an "rpc-fault"
    since: int = 0  # resend: the page after this serial; head: the last serial claimed
    back: int = 1  # overlap: start this many serials before the one asked for
    entries: list[Any] = field(default_factory=list)  # poison: raw entries to append
    other: str = ""  # mismatch: the project whose document is sent instead
    body: str | bytes = ""  # body: the raw answer
    location: str = ""  # redirect: where to
    status: int = 200  # body: the status to answer with
    retry_after: str | None = None  # 429: the Retry-After header (default "1")

    def matches(self, path: str, rpc_method: str | None = None) -> bool:
        if self.kind in _METHOD_OF and rpc_method != _METHOD_OF[self.kind]:
            return False
        return self.path is None or path.startswith(self.path)


class FaultPlan:
    """The queue of faults a server will inject, in the order they were added."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []

    def add(self, kind: str, count: int = 1, path: str | None = None, *,
            delay: float = DEFAULT_DELAY, size: int = DEFAULT_OVERSIZE,
            message: str = DEFAULT_MESSAGE, **extra: Any) -> Fault:
        """Queue ``kind`` for the next ``count`` requests under ``path``; ``extra`` sets the
        kind's own fields (``since``, ``entries``, ``other``, ``body``, ``location``...)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        unknown = set(extra) - _EXTRA_FIELDS
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        fault = Fault(kind, count, path, delay, size, message,  # type: ignore[arg-type]
                      **extra)
        self._queue.append(fault)
        return fault

    def add_from_json(self, spec: Any) -> Fault:
        """``POST /_double/faults`` body: {"kind", "count"?, "path"?, "delay"?, "size"?,
        "message"?, and the kind's own fields}."""
        if not isinstance(spec, dict) or not isinstance(spec.get("kind"), str):
            raise ValueError('expected a JSON object with a string "kind"')
        return self.add(
            spec["kind"], int(spec.get("count", 1)), spec.get("path"),
            delay=float(spec.get("delay", DEFAULT_DELAY)),
            size=int(spec.get("size", DEFAULT_OVERSIZE)),
            message=str(spec.get("message", DEFAULT_MESSAGE)),
            **{k: v for k, v in spec.items() if k in _EXTRA_FIELDS},
        )

    def clear(self) -> int:
        """Drop every queued fault; returns how many there were."""
        n = len(self._queue)
        self._queue.clear()
        return n

    def take(self, path: str, rpc_method: str | None = None) -> Fault | None:
        """The fault for a request to ``path``, consuming one use of it."""
        for fault in self._queue:
            if fault.matches(path, rpc_method):
                fault.count -= 1
                if fault.count <= 0:
                    self._queue.remove(fault)
                return fault
        return None

    @property
    def pending(self) -> list[Fault]:
        return list(self._queue)

    def __len__(self) -> int:
        return len(self._queue)


async def render_fault(fault: Fault, request: web.Request, handler: Any, *, xml: bool
                       ) -> web.StreamResponse:
    """Answer ``request`` as ``fault`` says; ``handler`` gives the real answer when needed."""
    ctype = _XML_CT if xml else _JSON_CT
    if fault.kind in ("429", "500", "503"):
        retry_after = fault.retry_after if fault.retry_after is not None else "1"
        headers = {"Retry-After": retry_after} if fault.kind == "429" else None
        return web.Response(status=int(fault.kind), text=f"{fault.kind} (injected)\n",
                            headers=headers)
    if fault.kind == "body":
        raw = fault.body if isinstance(fault.body, bytes) else fault.body.encode(
            "utf-8", "surrogatepass")
        return web.Response(status=fault.status, content_type=ctype, body=raw)
    if fault.kind == "redirect":
        return web.Response(status=302, headers={"Location": fault.location})
    if fault.kind == "head":
        return web.Response(body=dumps_page(fault.since), content_type=_XML_CT, charset="utf-8")
    if fault.kind == "slow":
        await asyncio.sleep(fault.delay)
        response: web.StreamResponse = await handler(request)
        return response
    if fault.kind == "truncated":
        real = await handler(request)
        body = real.body if isinstance(real, web.Response) and isinstance(real.body, bytes) else b""
        return web.Response(status=200, body=body[: len(body) // 2],
                            content_type=real.content_type or ctype)
    if fault.kind == "invalid":
        return web.Response(status=200, body=INVALID_XML if xml else INVALID_JSON,
                            content_type=ctype)
    if fault.kind == "rpc-fault":
        text = xmlrpc.client.dumps(xmlrpc.client.Fault(-32500, fault.message),
                                   methodresponse=True)
        return web.Response(status=200, body=text.encode("utf-8"), content_type=_XML_CT)
    if fault.kind == "entity":
        return web.Response(status=200, body=ENTITY_BOMB, content_type=_XML_CT)
    return await _oversize(request, fault.size, ctype)


async def _oversize(request: web.Request, size: int, ctype: str) -> web.StreamResponse:
    # Well-formed document padded with whitespace, streamed so the server stays small.
    head, tail = _OVERSIZE_PARTS[ctype]
    response = web.StreamResponse(status=200, headers={"Content-Type": ctype})
    response.content_length = len(head) + size + len(tail)
    await response.prepare(request)
    chunk = b" " * (1 << 20)
    try:
        await response.write(head)
        left = size
        while left > 0:
            piece = chunk if left >= len(chunk) else chunk[:left]
            await response.write(piece)
            left -= len(piece)
        await response.write(tail)
        await response.write_eof()
    except ConnectionError:
        pass  # the client hit its size cap and hung up: that is the point
    return response
