"""Network doubles for the domain checks: DNS, RDAP and WHOIS servers on loopback ports.

Pure Python (dnspython, aiohttp, asyncio), shipped in the package so that the tests,
the benchmark and `warden demo` use the same ones. `NetDoubles` starts all three in
the running event loop; `threaded()` runs them in a background thread, for code that
blocks its caller (a CLI invoked in-process); `python -m bot.netdoubles serve` runs
them as a process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.netdoubles.dns import DnsDouble, ZoneSpec
from bot.netdoubles.rdap import RdapDomain, RdapDouble
from bot.netdoubles.whois import WhoisDomain, WhoisDouble

__all__ = [
    "DnsDouble", "NetDoubles", "RdapDomain", "RdapDouble", "WhoisDomain", "WhoisDouble",
    "ZoneSpec", "threaded",
]


@dataclass
class NetDoubles:
    dns: DnsDouble = field(default_factory=DnsDouble)
    rdap: RdapDouble = field(default_factory=RdapDouble)
    whois: WhoisDouble = field(default_factory=WhoisDouble)

    async def start(self, host: str = "127.0.0.1") -> NetDoubles:
        await self.dns.start(host)
        await self.rdap.start(host)
        await self.whois.start(host)
        return self

    async def stop(self) -> None:
        await self.dns.stop()
        await self.rdap.stop()
        await self.whois.stop()

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """`[domains]` options that point every lookup at these servers."""
        values: dict[str, Any] = {
            "resolver": self.dns.resolver, "rdap_url": self.rdap.base_url.rstrip("/"),
            "whois_server": self.whois.server, "dns_timeout_seconds": 0.3,
            "dns_retry_seconds": 0.05, "rdap_timeout_seconds": 5.0,
            "whois_timeout_seconds": 2.0,
        }
        values.update(overrides)
        return values


@contextmanager
def threaded(
    doubles: NetDoubles | None = None, setup: Callable[[NetDoubles], None] | None = None,
) -> Iterator[NetDoubles]:
    """Serve `doubles` from a background thread's event loop until the block ends."""
    doubles = doubles or NetDoubles()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(doubles.start())
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(doubles.stop())
        loop.close()

    thread = threading.Thread(target=run, name="netdoubles", daemon=True)
    thread.start()
    ready.wait(30)
    if failure:
        raise failure[0]
    if setup is not None:
        setup(doubles)
    try:
        yield doubles
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
