"""`warden feed sync` as an admin meets it: the first run says where it starts and fills the
critical ledger, the cursor never passes --until-serial, an unreachable index gives up in
a bounded time, and a running `warden run` on the same SQLite store is not raced."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.leader import SQLiteFileLock
from bot.ledger import Ledger, TrackedProjects
from bot.store.db import create_engine, session_factory
from tests.support import REPO
from tests.support.indexdouble import IndexDoubleProcess

pytestmark = pytest.mark.service


def env_for(tmp_path: Path, index_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARDEN_", "SLACK_"))}
    env.update(WARDEN_STORE_URL=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
               WARDEN_INDEX_URL=index_url, WARDEN_CRITICAL_TOP="0",
               WARDEN_CRITICAL_PROJECTS="atomicwrites", WARDEN_INDEX_BACKOFF_SECONDS="0.2",
               PYTHONPATH=str(REPO))
    env.update(extra)
    return env


def warden(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "feed", "sync", *args], cwd=tmp_path,
                          env=env, text=True, capture_output=True, timeout=120)


def fill(index: IndexDoubleProcess) -> int:
    s = index.store
    s.create_project("atomicwrites", "untitaker")
    s.add_release("atomicwrites", "1.4.0", [("atomicwrites-1.4.0.tar.gz", b"sdist" * 40)])
    for i in range(10):
        s.create_project(f"p{i}", "alice")
    return s.last_serial()


def test_first_run_says_where_it_starts_and_fills_the_critical_ledger(
    index_double_process: IndexDoubleProcess, tmp_path: Path
) -> None:
    head = fill(index_double_process)
    env = env_for(tmp_path, index_double_process.url)
    done = warden(tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert (f"no cursor stored: starting at the index's current serial {head}"
            in " ".join(done.stderr.split()))
    assert "--from-serial" in done.stderr
    assert "ledger filled for 1 critical projects" in done.stdout
    assert f"cursor at {head}" in done.stdout

    async def ledger_files() -> list[str]:
        engine = create_engine(env["WARDEN_STORE_URL"])
        try:
            async with session_factory(engine)() as session:
                project = await Ledger(session, TrackedProjects()).project(
                    "atomicwrites", with_files=True)
                return [f.filename for r in project.releases for f in r.files] if project else []
        finally:
            await engine.dispose()

    # Restorable on day one: the ledger holds the file and its digests without any event.
    assert asyncio.run(ledger_files()) == ["atomicwrites-1.4.0.tar.gz"]
    again = warden(tmp_path, env)
    assert again.returncode == 0 and "no cursor stored" not in again.stderr


def test_until_serial_is_never_passed_and_from_serial_replays(
    index_double_process: IndexDoubleProcess, tmp_path: Path
) -> None:
    fill(index_double_process)
    env = env_for(tmp_path, index_double_process.url)
    refused = warden(tmp_path, env, "--until-serial", "5")
    assert refused.returncode == 2
    assert "give --from-serial" in " ".join(refused.stderr.split())
    first = warden(tmp_path, env, "--from-serial", "1", "--until-serial", "5")
    assert first.returncode == 0, first.stderr
    assert "starting at serial 1 as asked" in first.stderr and "cursor at 5" in first.stdout
    behind = warden(tmp_path, env, "--from-serial", "3")
    assert behind.returncode == 2 and "already holds" in behind.stderr
    ahead = warden(tmp_path, env, "--from-serial", "10", "--until-serial", "12")
    assert ahead.returncode == 0, ahead.stderr
    assert "skipping serials 6..9" in ahead.stderr and "cursor at 12" in ahead.stdout


def test_an_unreachable_index_gives_up_in_the_deadline_saying_each_retry(
    tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = env_for(tmp_path, f"http://127.0.0.1:{port}",
                  WARDEN_INDEX_COMMAND_DEADLINE_SECONDS="3", WARDEN_INDEX_BACKOFF_SECONDS="0.5")
    started = time.monotonic()
    done = warden(tmp_path, env, "--from-serial", "1")
    assert done.returncode == 1
    assert time.monotonic() - started < 25  # start-up, then at most the 3 s deadline
    text = " ".join(done.stderr.split())
    assert "gave up after 3 s" in text and "Cannot connect" in text
    retries = [line for line in done.stderr.splitlines() if "index.retry" in line]
    assert len(retries) >= 2 and all("wait_seconds" in line for line in retries)


def test_refused_beside_a_running_warden_on_the_same_sqlite_store(
    index_double_process: IndexDoubleProcess, tmp_path: Path
) -> None:
    fill(index_double_process)
    env = env_for(tmp_path, index_double_process.url)
    assert warden(tmp_path, env).returncode == 0
    held = SQLiteFileLock(env["WARDEN_STORE_URL"])  # what `warden run` holds while it runs
    asyncio.run(held.try_acquire())
    try:
        done = warden(tmp_path, env)
        assert done.returncode == 2
        assert "another warden process" in " ".join(done.stderr.split())
    finally:
        asyncio.run(held.release())
    assert warden(tmp_path, env).returncode == 0
