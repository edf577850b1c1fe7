"""`warden run` as a real process: endpoints, clean shutdown, and replicas on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.store.db import create_engine, session_factory
from bot.store.models import Event, FeedCursor
from tests.support.indexdouble import IndexDouble

pytestmark = [pytest.mark.service]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc, self.port = proc, port
        self.url = f"http://127.0.0.1:{port}"

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(self.url + path) as r:
            return r.status, await r.text()

    async def wait_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"replica exited with {self.proc.returncode}")
            try:
                if (await self.get("/healthz"))[0] == 200:
                    return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError("replica did not come up")

    async def is_leader(self) -> bool:
        status, body = await self.get("/metrics")
        return status == 200 and "\nwarden_leader 1.0" in body


async def start(env: dict[str, str], cwd: Path) -> Replica:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--port", str(port), env=env, cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    return Replica(proc, port)


def base_env(store_url: str, index_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "WARDEN_STORE_URL": store_url, "WARDEN_INDEX_URL": index_url,
            "WARDEN_FEED_START_SERIAL": "0", "WARDEN_FEED_POLL_INTERVAL_SECONDS": "0.5",
            "WARDEN_CRITICAL_TOP": "0", "WARDEN_SERVICE_LEADER_RETRY_SECONDS": "1",
            "WARDEN_LOG_JSON": "true", **extra}


@pytest.fixture
async def counts(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    url = request.getfixturevalue("pg_url" if "pg_url" in request.fixturenames else "store_url")
    engine = create_engine(url)
    sessions = session_factory(engine)

    async def read() -> tuple[int, int, int]:
        async with sessions() as s:
            total = (await s.execute(select(func.count()).select_from(Event))).scalar_one()
            distinct = (await s.execute(select(func.count(func.distinct(Event.serial))))).scalar_one()
            cursor = await s.get(FeedCursor, "pypi")
            return total, distinct, 0 if cursor is None else cursor.serial

    yield read
    await engine.dispose()


def backlog(index: IndexDouble, n: int) -> int:
    index.store.bulk_journals((f"p{i % 500}", "1.0", 1_700_000_000 + i, "new release")
                              for i in range(n))
    return index.store.last_serial()


async def test_endpoints_and_sigterm_mid_batch(
    index_double: IndexDouble, store_url: str, tmp_path: Path, counts: object
) -> None:
    last = backlog(index_double, 40_000)
    env = base_env(store_url, index_double.url, WARDEN_FEED_BATCH_SIZE="200")
    replica = await start(env, tmp_path)
    try:
        await replica.wait_up()
        assert (await replica.get("/healthz"))[0] == 200
        deadline = time.monotonic() + 60
        while (await counts())[2] < 2000:  # type: ignore[operator]
            assert time.monotonic() < deadline, "the feed made no progress"
            await asyncio.sleep(0.05)
        stopped = time.monotonic()
        replica.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(replica.proc.wait(), 10)
        assert replica.proc.returncode == 0
        assert time.monotonic() - stopped < 10
    finally:
        if replica.proc.returncode is None:
            replica.proc.kill()
    total, distinct, cursor = await counts()  # type: ignore[operator]
    assert total == distinct == cursor and 0 < cursor < last  # stopped mid-stream, nothing lost

    second = await start(env, tmp_path)
    try:
        await second.wait_up()
        deadline = time.monotonic() + 60
        while (await counts())[2] < last and time.monotonic() < deadline:  # type: ignore[operator]
            await asyncio.sleep(0.2)
        assert await counts() == (last, last, last)  # type: ignore[operator]
        # Ready once the pass completes: it stored the last batch, then finds no more.
        status, body = await second.get("/readyz")
        while status != 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            status, body = await second.get("/readyz")
        assert status == 200, body
        status, metrics = await second.get("/metrics")
        assert 'warden_events_ingested_total{kind="new_release"}' in metrics
        assert "warden_feed_lag_serials 0.0" in metrics
        for family in ("warden_incidents_open", "warden_playbook_runs_total",
                       "warden_notifications_total", "warden_sweep_progress_ratio",
                       "warden_domain_queries_total", "warden_job_runs_total"):
            assert f"# TYPE {family}" in metrics
        if store_url.startswith("sqlite"):
            # SQLite is single-process: a second `warden run` on it is refused clearly
            third = await start(env, tmp_path)
            _, stderr = await asyncio.wait_for(third.proc.communicate(), 30)
            assert third.proc.returncode == 2 and b"single-process" in stderr
    finally:
        second.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.proc.wait(), 10)


async def test_readyz_fails_when_the_feed_is_stale(sqlite_url: str, tmp_path: Path) -> None:
    env = base_env(sqlite_url, "http://127.0.0.1:9")  # nothing listens: the feed can't run
    replica = await start(env, tmp_path)
    try:
        await replica.wait_up()
        status, body = await replica.get("/readyz")
        assert status == 503 and "feed stale" in body
    finally:
        replica.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(replica.proc.wait(), 15)


@pytest.mark.slow
async def test_two_replicas_one_leader_and_failover(
    index_double: IndexDouble, pg_url: str, tmp_path: Path, counts: object
) -> None:
    backlog(index_double, 500)
    env = base_env(pg_url, index_double.url, WARDEN_FEED_BATCH_SIZE="50")
    a, b = await start(env, tmp_path), await start(env, tmp_path)
    try:
        await a.wait_up()
        await b.wait_up()
        await asyncio.sleep(3)
        leaders = [r for r in (a, b) if await r.is_leader()]
        assert len(leaders) == 1
        leader = leaders[0]
        follower = b if leader is a else a
        deadline = time.monotonic() + 60
        while (await counts())[2] < 500:  # type: ignore[operator]
            assert time.monotonic() < deadline, "the feed made no progress"
            await asyncio.sleep(0.1)
        leader.proc.send_signal(signal.SIGKILL)
        await leader.proc.wait()
        killed = time.monotonic()
        more = backlog(index_double, 300)
        while not await follower.is_leader():
            assert time.monotonic() - killed < 30, "no takeover within 30 s"
            await asyncio.sleep(0.2)
        while (await counts())[2] < more:  # type: ignore[operator]
            assert time.monotonic() - killed < 60
            await asyncio.sleep(0.2)
        assert await counts() == (more, more, more)  # type: ignore[operator]
    finally:
        for replica in (a, b):
            if replica.proc.returncode is None:
                replica.proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(replica.proc.wait(), 15)
