"""The demo's world: the index double and the bot, on loopback, in a temporary directory.

Everything is pure Python and local: the index double (a PyPI-protocol server over a
Warehouse-shaped SQLite database, whose files directory doubles as the storage bucket),
the bot's own SQLite store, and — for the domain scenario — DNS, RDAP and WHOIS
servers. The warehouse playbook backend edits the double's database directly, as it
would edit Warehouse's.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.actions import Actions
from bot.config import Settings, load_settings
from bot.indexdouble import IndexDoubleServer, IndexDoubleStore
from bot.netdoubles import NetDoubles
from bot.notify.base import Notifier
from bot.wiring import Warden
from playbooks.wiring import Backends

ADMINS = ("alice", "bob")  # the demo's two admins: one requests, the other approves


@dataclass
class World:
    root: Path
    index: IndexDoubleStore
    server: IndexDoubleServer
    net: NetDoubles
    warden: Warden
    actions: Actions
    backends: Backends

    @property
    def settings(self) -> Settings:
        return self.warden.settings


def demo_settings(root: Path, index_url: str, console: bool, **extra: Any) -> Settings:
    return load_settings(
        store={"url": f"sqlite+aiosqlite:///{root / 'warden.db'}"},
        index={"url": index_url, "max_retries": 2, "backoff_seconds": 0.1},
        feed={"start_serial": 0},
        critical={"top": "0", "projects": ["atomicwrites", "requests", "ctx"]},
        notify={"console": console},
        access={"admins": list(ADMINS)},
        playbooks={"backend": "warehouse",
                   "warehouse_url": f"sqlite+aiosqlite:///{root / 'index.sqlite'}",
                   "warehouse_files": str(root / "files")},
        storage={"kind": "filesystem", "root": str(root / "files")},
        log={"level": "warning"},
        **extra,
    )


@asynccontextmanager
async def open_world(console: bool, notifiers: dict[str, Notifier] | None = None,
                     **extra: Any) -> AsyncIterator[World]:
    with tempfile.TemporaryDirectory(prefix="warden-demo-") as tmp:
        root = Path(tmp)
        index = IndexDoubleStore(root / "index.sqlite", root / "files")
        server = IndexDoubleServer(index)
        net = NetDoubles()
        try:
            url = await server.start()
            await net.start()
            settings = demo_settings(root, url, console, domains=net.settings(), **extra)
            warden = await Warden.open(settings, notifiers=notifiers)
            try:
                await warden.ensure_critical_set()
                actions = await warden.open_actions()
                try:
                    assert actions.backends is not None, actions.unavailable
                    yield World(root, index, server, net, warden, actions, actions.backends)
                finally:
                    await actions.close()
            finally:
                await warden.close()
        finally:
            await net.stop()
            await server.stop()
            index.close()
