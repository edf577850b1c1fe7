"""SIGKILL the feed at random moments: every event is stored exactly once, no incident twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.store.db import create_engine, session_factory
from bot.store.models import Event, FeedCursor, Incident, OutboxMessage
from tests.support.indexdouble import IndexDouble

pytestmark = [pytest.mark.service, pytest.mark.slow]

CRITICAL = [f"critical-{i}" for i in range(12)]
KILLS = 10


def fill_index(index: IndexDouble) -> int:
    s = index.store
    rng = random.Random(7)
    for i, name in enumerate(CRITICAL):
        s.create_project(name, f"owner{i}")
        s.bulk_journals(
            (f"filler-{rng.randrange(10**6)}", "1.0", 1_650_000_000 + n, "new release")
            for n in range(1500)
        )
        s.remove_project(name)
    return s.last_serial()


async def feed_process(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "feed", "sync", env=env, cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )


async def test_sigkill_at_random_points_loses_and_repeats_nothing(
    index_double: IndexDouble, store_url: str, tmp_path: Path
) -> None:
    last = fill_index(index_double)
    env = {
        **os.environ,
        "WARDEN_STORE_URL": store_url, "WARDEN_INDEX_URL": index_double.url,
        "WARDEN_FEED_BATCH_SIZE": "97", "WARDEN_FEED_START_SERIAL": "0",
        "WARDEN_CRITICAL_TOP": "0", "WARDEN_CRITICAL_PROJECTS": ",".join(CRITICAL),
        "WARDEN_LOG_JSON": "true",
    }
    rng = random.Random(int(os.environ.get("WARDEN_CRASH_SEED", "1")))
    engine = create_engine(store_url)
    sessions = session_factory(engine)

    async def cursor() -> int:
        async with sessions() as s:
            row = await s.get(FeedCursor, "pypi")
            return 0 if row is None else row.serial

    kills, progress = 0, []
    try:
        while kills < KILLS:
            # Kill once the cursor has moved a random distance, plus a random few ms,
            # so the kills land inside batches at random points of the stream.
            start = await cursor()
            target = start + rng.randrange(50, 1200)
            proc = await feed_process(env, tmp_path)
            while proc.returncode is None and await cursor() < target:
                await asyncio.sleep(0.005)
            await asyncio.sleep(rng.uniform(0, 0.05))
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            await proc.wait()
            if proc.returncode not in (0, -signal.SIGKILL):
                assert proc.stderr is not None
                pytest.fail(f"feed failed on its own after a kill: {(await proc.stderr.read())[-2000:]!r}")
            progress.append(await cursor())
            if progress[-1] == last:
                break
        proc = await feed_process(env, tmp_path)
        _, stderr = await proc.communicate()
        assert proc.returncode == 0, stderr.decode()[-2000:]
        assert kills == KILLS and progress[-1] < last, f"kills did not land mid-stream: {progress}"

        async with sessions() as s:
            count = (await s.execute(select(func.count()).select_from(Event))).scalar_one()
            distinct = (await s.execute(select(func.count(func.distinct(Event.serial))))).scalar_one()
            top = (await s.execute(select(func.max(Event.serial)))).scalar_one()
            incidents = (await s.execute(select(Incident))).scalars().all()
            opened = (await s.execute(
                select(func.count()).select_from(OutboxMessage)
                .where(OutboxMessage.kind == "incident.opened"))).scalar_one()
        assert count == distinct == last == top
        assert await cursor() == last
        assert sorted(i.subject for i in incidents) == sorted(f"project:{n}" for n in CRITICAL)
        assert all(i.occurrences == 1 for i in incidents), "an event was processed twice"
        assert opened == len(CRITICAL)
    finally:
        await engine.dispose()
