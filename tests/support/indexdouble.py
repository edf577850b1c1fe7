"""Pytest fixtures for the index double (registered from conftest via ``pytest_plugins``).

- ``index_double``: a store in ``tmp_path`` and a server on a free loopback port,
  in-process; ``.store`` mutates, ``.server.faults`` injects, ``.url`` is the base URL.
- ``index_double_process``: the same database served by ``python -m bot.indexdouble
  serve`` in a subprocess (for tests of commands that run as their own process);
  mutate through ``.store``, inject faults with ``.add_fault()`` (over HTTP).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.indexdouble import IndexDoubleServer, IndexDoubleStore
from tests.support import REPO

_REPO = REPO


@dataclass
class IndexDouble:
    store: IndexDoubleStore
    server: IndexDoubleServer
    url: str


@dataclass
class IndexDoubleProcess:
    store: IndexDoubleStore
    process: subprocess.Popen[str]
    url: str

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def add_fault(self, kind: str, count: int = 1, path: str | None = None,
                  **extra: Any) -> Any:
        return self._control("POST", "/_double/faults",
                             {"kind": kind, "count": count, "path": path, **extra})

    def clear_faults(self) -> Any:
        return self._control("DELETE", "/_double/faults")

    def requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._control("GET", "/_double/requests")
        return result


@pytest.fixture
async def index_double(tmp_path: Path) -> AsyncIterator[IndexDouble]:
    store = IndexDoubleStore(tmp_path / "index.sqlite", tmp_path / "files")
    server = IndexDoubleServer(store)
    url = await server.start(host="127.0.0.1", port=0)
    try:
        yield IndexDouble(store, server, url)
    finally:
        await server.stop()
        store.close()


def start_index_double_process(db: Path, files: Path, *extra: str,
                               timeout: float = 30.0) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m bot.indexdouble serve`` and wait for its ``READY <url>`` line."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(_REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.indexdouble", "serve", "--db", str(db),
         "--files", str(files), "--host", "127.0.0.1", "--port", "0", *extra],
        stdout=subprocess.PIPE, text=True, env=env, cwd=_REPO,
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            proc.kill()
            raise RuntimeError("index double did not print READY in time")
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"unexpected first line from index double: {line!r}")
    return proc, line.split(" ", 1)[1]


@pytest.fixture
def index_double_process(tmp_path: Path) -> Iterator[IndexDoubleProcess]:
    store = IndexDoubleStore(tmp_path / "index.sqlite", tmp_path / "files")
    proc, url = start_index_double_process(store.db_path, store.files_dir)
    try:
        yield IndexDoubleProcess(store, proc, url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        store.close()
