"""WHOIS (port 43) for TLDs without RDAP, parsed by python-whois, in a bounded pool.

python-whois is blocking, so the query and the parse run in a thread pool of
`whois_workers` threads. Its own client always dials port 43 and may ask IANA which
server to use; here the server comes from our table (or the `whois_server`
override), so tests and the demo can point it at a local port. A parsed entry whose
fields all came back empty is `malformed` (state `unknown`), never "fine".

The answer is untrusted text. One query, read, has one deadline (`timeout` in all, not
per read: a server dripping a byte at a time cannot hold a thread for long). Answers
over `MAX_ANSWER` bytes, or with NUL bytes, are `malformed` unparsed. python-whois's
regular expressions take time quadratic in a line's length, and hold the GIL while
they run, so lines are cut at `MAX_LINE` characters before parsing (no field a rule
reads is that long); with both bounds a parse of the worst text takes about a second.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from whois.exceptions import WhoisDomainNotFoundError
from whois.parser import WhoisEntry

from detectors.domains.names import tld_of
from detectors.domains.ratelimit import Buckets
from detectors.domains.registry import (
    EARLIEST,
    LATEST,
    RegistryObservation,
    RegistryRecord,
    normalize_status,
)
from detectors.domains.settings import split_host_port

MAX_ANSWER = 64 * 1024  # real answers are a few kilobytes; the longest seen, about 20
MAX_LINE = 256


class _Refused(Exception):
    """An answer not parsed; str() says why."""


def _query(host: str, port: int, domain: str, timeout: float) -> bytes:
    """The raw answer, read within `timeout` seconds in all; TimeoutError past it."""
    deadline = time.monotonic() + timeout
    query = f"-T dn,ace {domain}" if host == "whois.denic.de" else domain
    chunks: list[bytes] = []
    size = 0
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(query.encode("ascii", "replace") + b"\r\n")
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            conn.settimeout(left)
            chunk = conn.recv(65_536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_ANSWER:
                raise _Refused(f"answer larger than {MAX_ANSWER} bytes")
            chunks.append(chunk)


def _text(raw: bytes) -> str:
    if b"\x00" in raw:
        raise _Refused("answer contains NUL bytes")
    text = raw.decode("utf-8", "replace")
    return "\n".join(line[:MAX_LINE] for line in text.splitlines())


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _dates(value: Any) -> list[datetime]:
    out = []
    for item in _values(value):
        if isinstance(item, datetime):
            when = item.replace(tzinfo=UTC) if item.tzinfo is None else item.astimezone(UTC)
            if not EARLIEST <= when < LATEST:
                raise ValueError(f"date out of range: {when.isoformat()}")
            out.append(when)
    return out


def _texts(value: Any) -> list[str]:
    return [item.strip() for item in _values(value) if isinstance(item, str) and item.strip()]


def _hosts(values: Iterable[str]) -> tuple[str, ...]:
    # "NS1.EXAMPLE.COM 192.0.2.1" -> "ns1.example.com"
    return tuple(sorted({v.split()[0].lower().rstrip(".") for v in values if v.split()}))


def _record(entry: Any) -> RegistryRecord:
    created = _dates(entry.get("creation_date") or entry.get("created"))
    expires = _dates(entry.get("expiration_date"))
    changed = _dates(entry.get("updated_date"))
    registrars = _texts(entry.get("registrar"))
    return RegistryRecord(
        statuses=tuple(dict.fromkeys(
            s for s in (normalize_status(t) for t in _texts(entry.get("status"))[:64]) if s
        )),
        registered=min(created) if created else None,
        expires=max(expires) if expires else None,
        last_changed=max(changed) if changed else None,
        registrar=registrars[-1] if registrars else None,  # lines are at most MAX_LINE
        nameservers=_hosts(_texts(entry.get("name_servers"))[:64]),
    )


def parse_whois(domain: str, text: str, server: str = "") -> RegistryObservation:
    """A `RegistryObservation` from a WHOIS answer; never raises."""
    try:
        record = _record(WhoisEntry.load(domain, text))
    except WhoisDomainNotFoundError:
        return RegistryObservation("whois", "not-found", server, detail="WHOIS: no such domain")
    except Exception as exc:  # a third-party parser on untrusted text: any failure is "malformed"
        why = f"unparseable: {exc!r}"[:300]
        return RegistryObservation("whois", "malformed", server, detail=why)
    if record == RegistryRecord():
        return RegistryObservation(
            "whois", "malformed", server, detail="WHOIS answer has no registration fields")
    return RegistryObservation("whois", "found", server, record=record)


class WhoisClient:
    """Port-43 lookups in a bounded thread pool, within each server's rate."""

    def __init__(
        self,
        servers: dict[str, str],
        *,
        override: str | None = None,
        workers: int = 4,
        rate: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        self.servers = {k.lower(): v for k, v in servers.items()}
        self.override, self.timeout = override, timeout
        self.buckets = Buckets(rate)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="whois")

    def server_for(self, domain: str) -> str | None:
        return self.override or self.servers.get(tld_of(domain))

    async def lookup(self, domain: str, server: str | None = None) -> RegistryObservation:
        server = server or self.server_for(domain)
        if server is None:
            why = f"no RDAP or WHOIS service known for .{tld_of(domain)}"
            return RegistryObservation("whois", "no-service", detail=why)
        host, port = split_host_port(server, 43)
        await self.buckets[server].acquire()
        loop = asyncio.get_running_loop()
        try:
            # the thread keeps its own deadline; this one also covers waiting for a thread
            raw = await asyncio.wait_for(loop.run_in_executor(
                self._pool, _query, host, port, domain, self.timeout), self.timeout * 2)
            text = _text(raw)
        except TimeoutError:
            return RegistryObservation(
                "whois", "timeout", server,
                detail=f"no complete answer from {server} within {self.timeout:g} s")
        except _Refused as exc:
            return RegistryObservation("whois", "malformed", server, detail=str(exc))
        except OSError as exc:
            why = f"cannot ask {server}: {type(exc).__name__}: {exc}"[:300]
            return RegistryObservation("whois", "error", server, detail=why)
        if not text.strip():
            return RegistryObservation("whois", "error", server, detail=f"empty answer from {server}")
        return await loop.run_in_executor(self._pool, parse_whois, domain, text, server)

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
