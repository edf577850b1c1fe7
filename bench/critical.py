"""Critical set and detector: recompute time at PyPI scale, and incident latency.

1. Recompute from a 600,000-project download export (synthetic counts over real PyPI
   names) plus a 50-project dependency closure served by the index double over HTTP.
   Baseline in the same run: reading and ranking the export alone.
2. Incident latency: a critical release is removed on the index, then one feed pass
   runs; time from the changelog answer arriving to the incident being committed
   (p50/p95 over 200 removals; the poll interval excluded). Target p95 < 50 ms.

    python bench/critical.py [--projects 600000] [--removals 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import load_settings  # noqa: E402
from bot.critical import recompute  # noqa: E402
from bot.feed.pypi import PyPIFeed  # noqa: E402
from bot.indexdouble import IndexDoubleServer, IndexDoubleStore  # noqa: E402
from bot.store.migrate import upgrade_async  # noqa: E402
from bot.wiring import Warden  # noqa: E402
from detectors.critical_set import load_downloads  # noqa: E402

NAMES = REPO.parent / "shared" / "data" / "pypi-project-names.txt.gz"


def write_export(path: Path, count: int) -> None:
    with gzip.open(NAMES, "rt", encoding="utf-8") as fh:
        names = [line.strip() for line in fh if line.strip()][:count]
    rng = random.Random(3)
    with path.open("w", encoding="utf-8") as out:
        out.write("project,downloads\n")
        for name in names:
            out.write(f"{name},{int(rng.paretovariate(1.2) * 100)}\n")


def build_stack(store: IndexDoubleStore, size: int) -> None:
    """`size` projects, each depending on two later ones (and one cycle back)."""
    for i in range(size):
        requires = [f"dep-{j}>=1" for j in (i + 1, i + 2) if j < size]
        if i == size - 1:
            requires.append("dep-0")
        store.create_project(f"dep-{i}", "owner")
        store.add_release(f"dep-{i}", "1.0", [(f"dep_{i}-1.0.tar.gz", f"dep {i}".encode())],
                          requires_dist=requires)


class Timer:
    """Records when each changelog answer arrived, to measure up to the commit."""

    def __init__(self, feed: PyPIFeed) -> None:
        self.arrived = 0.0
        original = feed.changelog_since

        async def timed(serial: int) -> list:  # type: ignore[type-arg]
            events = await original(serial)
            self.arrived = time.perf_counter()
            return events

        feed.changelog_since = timed  # type: ignore[method-assign]


async def main(projects: int, removals: int) -> None:
    with tempfile.TemporaryDirectory(prefix="warden-bench-") as tmp:
        work = Path(tmp)
        export = work / "downloads.csv"
        write_export(export, projects)
        store = IndexDoubleStore(work / "index.sqlite", work / "files")
        build_stack(store, 50)
        for i in range(removals):
            store.create_project(f"crit-{i}", "owner")
            store.add_release(f"crit-{i}", "1.0", [(f"crit_{i}-1.0.tar.gz", f"crit {i}".encode())])
        server = IndexDoubleServer(store)
        url = await server.start()
        db = f"sqlite+aiosqlite:///{work / 'warden.db'}"
        await upgrade_async(db)
        settings = load_settings(
            store={"url": db}, index={"url": url}, feed={"start_serial": 0},
            notify={"console": False},
            critical={"downloads": str(export), "top": "1%", "stack": ["dep-0"],
                      "projects": [f"crit-{i}" for i in range(removals)]},
        )
        warden = await Warden.open(settings)
        try:
            started = time.perf_counter()
            table = load_downloads(export)
            baseline = time.perf_counter() - started
            started = time.perf_counter()
            report = await recompute(warden.sessions, settings, warden.pipeline.tracked,
                                     warden.feed.feed, backfill=False)
            seconds = time.perf_counter() - started
            print(f"export rows:               {len(table.ranked):,}")
            print(f"critical by downloads:     {report.top:,} (1%); stack closure: "
                  f"{report.dependencies}; admins' list: {report.manual}")
            print(f"recompute:                 {seconds:.2f} s")
            print(f"baseline (read + rank):    {baseline:.2f} s; ratio {seconds / baseline:.1f}x")

            await warden.feed.sync()  # catch up; the ledger learns every critical file
            timer = Timer(warden.feed.feed)
            latencies = []
            for i in range(removals):
                store.remove_release(f"crit-{i}", "1.0")
                result = await warden.feed.sync()
                latencies.append((time.perf_counter() - timer.arrived) * 1000)
                assert len(result.incidents) == 1, result
            latencies.sort()
            p95 = latencies[int(len(latencies) * 0.95) - 1]
            print(f"incident latency:          p50 {statistics.median(latencies):.1f} ms, "
                  f"p95 {p95:.1f} ms over {removals} removals (target p95 < 50 ms)")
        finally:
            await warden.close()
            await server.stop()
            store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=600_000)
    parser.add_argument("--removals", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.projects, args.removals))
