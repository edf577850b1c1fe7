"""A port-43 WHOIS server on a loopback port, with registry-style text answers.

Templates: ICANN gTLD style (also used by .io) and DENIC style for .de, each with its
registry's "not found" wording, so python-whois's own parsers see what they expect.
`set_text` serves any text (malformed-answer tests). Behaviours: `timeout` holds the
connection open without answering, `empty` closes it at once, `drip` sends the answer
a byte every 50 ms and then keeps dripping (a server that never finishes), `flood`
sends 1 MB of comment lines before the answer.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass
class WhoisDomain:
    registered: datetime = datetime(2016, 6, 1, 8, 0, tzinfo=UTC)
    expires: datetime = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)
    changed: datetime = datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
    registrar: str = "Example Registrar, Inc."
    nameservers: tuple[str, ...] = ("ns1.dns-host.example", "ns2.dns-host.example")
    statuses: tuple[str, ...] = ("clientTransferProhibited",)


def _z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def gtld_text(name: str, d: WhoisDomain) -> str:
    lines = [
        f"Domain Name: {name.upper()}",
        "Registry Domain ID: 2138514_DOMAIN-EXAMPLE",
        "Registrar WHOIS Server: whois.registrar.example",
        f"Updated Date: {_z(d.changed)}",
        f"Creation Date: {_z(d.registered)}",
        f"Registry Expiry Date: {_z(d.expires)}",
        f"Registrar: {d.registrar}",
        "Registrar IANA ID: 9999",
        *(f"Domain Status: {s} https://icann.org/epp#{s}" for s in d.statuses),
        *(f"Name Server: {ns.upper()}" for ns in d.nameservers),
        "DNSSEC: unsigned",
        f">>> Last update of WHOIS database: {_z(datetime.now(UTC))} <<<",
    ]
    return "\r\n".join(lines) + "\r\n"


def denic_text(name: str, d: WhoisDomain) -> str:
    lines = [
        "% Restricted rights.", "%", f"Domain: {name}",
        *(f"Nserver: {ns}" for ns in d.nameservers),
        "Status: connect",
        f"Changed: {d.changed.astimezone(UTC).isoformat()}",
    ]
    return "\n".join(lines) + "\n"


def not_found_text(name: str) -> str:
    if name.endswith(".de"):
        return f"Domain: {name}\nStatus: free\n"
    if name.endswith(".io"):
        stamp = _z(datetime.now(UTC))
        return f"Domain not found.\r\n>>> Last update of WHOIS database: {stamp} <<<\r\n"
    return f'No match for "{name.upper()}".\r\n'


class WhoisDouble:
    def __init__(self) -> None:
        self.domains: dict[str, WhoisDomain | str] = {}
        self.behaviour: dict[str, str] = {}
        self.queries: list[str] = []
        self._lock = threading.Lock()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[object]] = set()
        self.address: tuple[str, int] = ("127.0.0.1", 0)

    def set_domain(self, name: str, domain: WhoisDomain | None = None) -> None:
        with self._lock:
            self.domains[name] = domain or WhoisDomain()

    def set_text(self, name: str, text: str) -> None:
        with self._lock:
            self.domains[name] = text

    def set_behaviour(self, name: str, behaviour: str) -> None:
        self.behaviour[name] = behaviour

    def answer(self, name: str) -> str:
        with self._lock:
            entry = self.domains.get(name)
        if isinstance(entry, str):
            return entry
        if entry is None:
            return not_found_text(name)
        return denic_text(name, entry) if name.endswith(".de") else gtld_text(name, entry)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            line = (await asyncio.wait_for(reader.readline(), 10)).decode("utf-8", "replace")
            name = line.strip().split()[-1].lower() if line.strip() else ""
            self.queries.append(name)
            behaviour = self.behaviour.get(name, "answer")
            if behaviour == "timeout":
                await asyncio.sleep(30)
            elif behaviour == "answer":
                writer.write(self.answer(name).encode())
                await writer.drain()
            elif behaviour == "flood":
                writer.write(b"% filler\r\n" * 100_000 + self.answer(name).encode())
                await writer.drain()
            elif behaviour == "drip":
                await self._drip(writer, self.answer(name).encode())
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            if task is not None:
                self._handlers.discard(task)

    @staticmethod
    async def _drip(writer: asyncio.StreamWriter, answer: bytes, seconds: float = 30.0) -> None:
        stop = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < stop:
            for byte in answer:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.address = (host, self._server.sockets[0].getsockname()[1])
        return self.address

    @property
    def server(self) -> str:
        """`host:port`, as the `domains.whois_server` option takes it."""
        return f"{self.address[0]}:{self.address[1]}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):  # e.g. a connection held by "timeout"
                task.cancel()
            await self._server.wait_closed()
