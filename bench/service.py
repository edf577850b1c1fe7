"""Two `warden run` replicas on PostgreSQL under a replayed stream of 100 events/s.

Prints CPU per replica (the follower is the same-run baseline: what a replica costs
when it only serves HTTP), the p95 latency from an event entering the index to its
incident being committed (with the feed's poll interval, 0.5 s here, included), and
the failover time after SIGKILL of the leader (until the follower leads and the
cursor moves again).

    python bench/service.py [--seconds 30] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy import select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.indexdouble import IndexDoubleServer, IndexDoubleStore  # noqa: E402
from bot.store.db import create_engine, session_factory  # noqa: E402
from bot.store.migrate import upgrade_async  # noqa: E402
from bot.store.models import FeedCursor, Incident  # noqa: E402

PG = os.environ.get("WARDEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK  # utime + stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def is_leader(port: int) -> bool:
    try:
        async with aiohttp.ClientSession() as http, \
                http.get(f"http://127.0.0.1:{port}/metrics") as r:
            return "\nwarden_leader 1.0" in await r.text()
    except aiohttp.ClientError:
        return False


async def main(seconds: float, rate: int) -> None:
    database = f"warden_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{PG}/test")
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = PG.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{database}"
    tmp = tempfile.TemporaryDirectory(prefix="warden-bench-")
    root = Path(tmp.name)
    index = IndexDoubleStore(root / "index.sqlite", root / "files")
    critical = [f"crit-{i}" for i in range(40)]
    for name in critical:
        index.create_project(name, "owner")
        index.add_release(name, "1.0", [(f"{name}-1.0.tar.gz", name.encode())])
    server = IndexDoubleServer(index)
    replicas: list[tuple[asyncio.subprocess.Process, int]] = []
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        await upgrade_async(url)
        index_url = await server.start()
        env = {**os.environ, "WARDEN_STORE_URL": url, "WARDEN_INDEX_URL": index_url,
               "WARDEN_FEED_START_SERIAL": "0", "WARDEN_FEED_POLL_INTERVAL_SECONDS": "0.5",
               "WARDEN_CRITICAL_TOP": "0", "WARDEN_CRITICAL_PROJECTS": ",".join(critical),
               "WARDEN_SERVICE_LEADER_RETRY_SECONDS": "1", "WARDEN_NOTIFY_CONSOLE": "false",
               "WARDEN_LOG_LEVEL": "warning", "WARDEN_DOMAINS_ENABLED": "false"}
        for n in range(2):
            port = free_port()
            with (root / f"replica-{n}.log").open("w") as log:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", "--port", str(port), env=env, cwd=root,
                    stdout=asyncio.subprocess.DEVNULL, stderr=log)
            replicas.append((proc, port))
        while not any([await is_leader(p) for _, p in replicas]):
            await asyncio.sleep(0.2)
        await asyncio.sleep(3)  # catch up the setup events

        removed_at: dict[str, float] = {}
        stop = asyncio.Event()

        async def stream() -> None:
            n, i = 0, 0
            started = time.monotonic()
            while not stop.is_set():
                index.bulk_journals((f"busy-{(n + k) % 997}", "1.0", int(time.time()),
                                     "new release") for k in range(rate // 10))
                n += rate // 10
                if n % rate == 0 and i < len(critical):  # one dangerous event a second
                    removed_at[critical[i]] = time.time()
                    index.remove_release(critical[i], "1.0")
                    i += 1
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))

        for n, (proc, _) in enumerate(replicas):
            if proc.returncode is not None:
                raise SystemExit(f"replica {n} exited: {(root / f'replica-{n}.log').read_text()[-3000:]}")
        cpu0 = {proc.pid: cpu_seconds(proc.pid) for proc, _ in replicas}
        t0 = time.monotonic()
        feeder = asyncio.create_task(stream())
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - t0
        cpu = {proc.pid: (cpu_seconds(proc.pid) - cpu0[proc.pid]) / elapsed for proc, _ in replicas}
        leading = [await is_leader(port) for _, port in replicas]
        leader, follower = (replicas[0], replicas[1]) if leading[0] else (replicas[1], replicas[0])

        await asyncio.sleep(2)
        async with sessions() as s:
            rows = (await s.execute(select(Incident.subject, Incident.created_at))).all()
        latencies = sorted(
            (created.timestamp() - removed_at[subject.split(":", 1)[1].split("@")[0]]) * 1000
            for subject, created in rows if subject.split(":", 1)[1].split("@")[0] in removed_at)
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else float("nan")

        async def cursor() -> int:
            async with sessions() as s:
                row = await s.get(FeedCursor, "pypi", populate_existing=True)
                return 0 if row is None else row.serial

        leader[0].send_signal(signal.SIGKILL)
        await leader[0].wait()
        killed = time.monotonic()
        before = await cursor()
        while not await is_leader(follower[1]):
            await asyncio.sleep(0.05)
        leads = time.monotonic() - killed
        while await cursor() <= before:
            await asyncio.sleep(0.05)
        moving = time.monotonic() - killed
        stop.set()
        await feeder

        print(f"stream:               {rate} events/s for {elapsed:.0f} s, 2 replicas on PostgreSQL")
        print(f"CPU leader:           {cpu[leader[0].pid] * 100:.1f}% of a core")
        print(f"CPU follower:         {cpu[follower[0].pid] * 100:.1f}% of a core (baseline: "
              f"serving HTTP only); leader/follower = "
              f"{cpu[leader[0].pid] / max(cpu[follower[0].pid], 1e-6):.1f}x")
        print(f"event -> incident:    p95 {p95:.0f} ms, median "
              f"{latencies[len(latencies) // 2] if latencies else float('nan'):.0f} ms over "
              f"{len(latencies)} incidents (poll interval 500 ms included)")
        print(f"failover after SIGKILL: new leader in {leads:.1f} s, cursor moving in "
              f"{moving:.1f} s (target: takeover within 30 s)")
    finally:
        for proc, _ in replicas:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()
        await engine.dispose()
        await server.stop()
        index.close()
        tmp.cleanup()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.rate))
