"""Feed throughput: 1,000,000 changelog events through parse → store → detectors on SQLite.

The events are built from real PyPI project names (../shared/data), written into the
index double's journals, and served over XML-RPC by the double in its own process.
Printed: pipeline events/s and peak RSS (measured in a separate worker process), and
the ratio of that throughput to bare decoding of the same pages by the pipeline's own
decoder (defusedxml's expat into xmlrpc.client's Unmarshaller), in the same run
(targets: >= 20,000 events/s, < 300 MB, ratio >= 0.2).

    python bench/feed.py [--events 1000000] [--names ../shared/data/pypi-project-names.txt.gz]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import FeedSection  # noqa: E402
from bot.events import IndexEvent  # noqa: E402
from bot.feed.xmlrpc import decode_response, encode_call  # noqa: E402
from bot.indexdouble import IndexDoubleStore  # noqa: E402
from detectors.base import Context  # noqa: E402

DEFAULT_NAMES = REPO.parent / "shared" / "data" / "pypi-project-names.txt.gz"


def journal_rows(names_file: Path, count: int) -> Iterator[tuple[str, str | None, int, str]]:
    """A realistic mix: mostly releases and files, some roles, yanks and removals."""
    with gzip.open(names_file, "rt", encoding="utf-8") as fh:
        names = [line.strip() for line in fh if line.strip()]
    rng = random.Random(42)
    ts = 1_600_000_000
    produced = 0
    for name in itertools.cycle(names):
        version = f"{rng.randrange(10)}.{rng.randrange(30)}.{rng.randrange(5)}"
        burst: list[tuple[str | None, str]] = [
            (None, "create"), (None, "add Owner maint"), (version, "new release"),
            (version, f"add py3 file {name}-{version}-py3-none-any.whl"),
            (version, f"add source file {name}-{version}.tar.gz"),
        ]
        roll = rng.random()
        if roll < 0.05:
            burst.append((version, "yank release"))
        elif roll < 0.07:
            burst.append((None, "remove project"))
        elif roll < 0.10:
            burst.append((None, "add Maintainer helper"))
        for version_, action in burst:
            ts += 1
            yield name, version_, ts, action
            produced += 1
            if produced >= count:
                return


class NoOpDetector:
    name = "noop"

    async def on_event(self, event: IndexEvent, ctx: Context) -> list[object]:
        return []

    async def sweep(self, ctx: Context) -> list[object]:
        return []


async def worker(index_url: str, store_url: str, batch_size: int) -> dict[str, float]:
    """The measured pipeline, in its own process so its peak RSS is its own."""
    from bot.config import load_settings
    from bot.wiring import Warden

    settings = load_settings(
        store={"url": store_url}, index={"url": index_url},
        feed={"start_serial": 0, "batch_size": batch_size},
        critical={"top": "0"}, notify={"console": False},
    )
    warden = await Warden.open(settings, detectors=[NoOpDetector()], notifiers={})  # type: ignore[list-item]
    started = time.perf_counter()
    try:
        result = await warden.feed.sync()
    finally:
        await warden.close()
    seconds = time.perf_counter() - started
    return {"events": result.events, "seconds": seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


async def decode_baseline(index_url: str, last: int) -> tuple[int, float]:
    """Fetch the same pages, then time only their decoding: (events, seconds)."""
    decoded, seconds, serial = 0, 0.0, 0
    async with aiohttp.ClientSession() as http:
        while serial < last:
            async with http.post(f"{index_url}/pypi",
                                 data=encode_call("changelog_since_serial", serial)) as r:
                body = await r.read()
            started = time.perf_counter()
            page = decode_response(body)
            seconds += time.perf_counter() - started
            if not page:
                raise SystemExit(f"empty page after serial {serial} (last serial {last})")
            decoded += len(page)
            serial = page[-1][4]
    return decoded, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--names", type=Path, default=DEFAULT_NAMES)
    parser.add_argument("--batch-size", type=int, default=FeedSection().batch_size,
                        help="Events per transaction (default: feed.batch_size's default).")
    parser.add_argument("--worker", nargs=2, metavar=("INDEX_URL", "STORE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(worker(*args.worker, args.batch_size))))
        return

    with tempfile.TemporaryDirectory(prefix="warden-bench-") as tmp:
        work = Path(tmp)
        store = IndexDoubleStore(work / "index.sqlite", work / "files")
        t = time.perf_counter()
        store.bulk_journals(journal_rows(args.names, args.events))
        last = store.last_serial()
        store.close()
        print(f"index double: {last:,} journal rows written in {time.perf_counter() - t:.1f} s",
              file=sys.stderr)
        double = subprocess.Popen(
            [sys.executable, "-m", "bot.indexdouble", "serve", "--db", str(work / "index.sqlite"),
             "--files", str(work / "files"), "--port", "0"],
            stdout=subprocess.PIPE, text=True, cwd=REPO,
        )
        try:
            assert double.stdout is not None
            url = double.stdout.readline().split()[1]
            decoded, decode_seconds = asyncio.run(decode_baseline(url, last))
            run = subprocess.run(
                [sys.executable, __file__, "--batch-size", str(args.batch_size), "--worker", url,
                 f"sqlite+aiosqlite:///{work / 'warden.db'}"],
                capture_output=True, text=True, check=True, cwd=work,
            )
            result = json.loads(run.stdout.strip().splitlines()[-1])
        finally:
            double.terminate()
            double.wait()

    pipeline_rate = result["events"] / result["seconds"]
    decode_rate = decoded / decode_seconds
    print(f"events:                 {result['events']:,} (batch {args.batch_size} per transaction)")
    print(f"pipeline:               {pipeline_rate:,.0f} events/s "
          f"({result['seconds']:.1f} s; fetch + decode + parse + store + detectors)")
    print(f"peak RSS (pipeline):    {result['peak_rss_mb']:.0f} MB")
    print(f"baseline decode only:   {decode_rate:,.0f} events/s ({decode_seconds:.1f} s; the "
          "pipeline's decoder: defusedxml's expat into xmlrpc.client's Unmarshaller)")
    print(f"ratio pipeline/decode:  {pipeline_rate / decode_rate:.2f}  (target >= 0.2)")
    ok = pipeline_rate >= 20_000 and result["peak_rss_mb"] < 300 and pipeline_rate / decode_rate >= 0.2
    print("targets met" if ok else "targets NOT met")
    if not ok:
        os._exit(1)


if __name__ == "__main__":
    main()
