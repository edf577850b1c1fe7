"""Restore of an atomicwrites-sized project from versioned S3, into the index double
(warehouse backend) and into a real devpi-server (devpi backend).

The project (30 releases, 60 files, about 20 MB) is uploaded to the index double, seen
by the real feed (so the ledger holds every digest), copied to a versioned S3 bucket
(moto's server on loopback) and then removed everywhere: from the index, from the
index's own files directory, and from the bucket, where every object now hides behind
a delete marker. The restore plans (finding the newest matching version of each blob,
checking sha256 and blake2b_256), applies step by step with the audit log, and verifies
by reading every file back from the index. Printed: wall time per backend and its ratio
to the roughly one hour (3600 s) the manual atomicwrites restore took in 2022, and, as
a same-run floor, the time to merely download the 60 blobs from the bucket.

    python bench/restore.py [--releases 30] [--megabytes 20] [--no-devpi]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.actions import Actions  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.indexdouble import IndexDoubleServer, IndexDoubleStore  # noqa: E402
from bot.logs import configure_logging  # noqa: E402
from bot.store.db import create_engine, session_factory  # noqa: E402
from bot.store.migrate import upgrade_async  # noqa: E402
from bot.wiring import Warden  # noqa: E402
from playbooks.base import Target  # noqa: E402
from playbooks.index_admin.base import FileSpec, IndexAdmin  # noqa: E402
from playbooks.index_admin.devpi import DevpiAdmin  # noqa: E402
from playbooks.index_admin.devpi_local import start_local_devpi  # noqa: E402
from playbooks.index_admin.warehouse import WarehouseAdmin  # noqa: E402
from playbooks.restore import LOCATE_CONCURRENCY  # noqa: E402
from playbooks.settings import PlaybooksSection  # noqa: E402
from playbooks.storage.base import Digests  # noqa: E402
from playbooks.storage.filesystem import FilesystemStorage  # noqa: E402
from playbooks.storage.s3 import S3Storage  # noqa: E402
from playbooks.wiring import Backends  # noqa: E402

PROJECT = "atomicwrites"
MANUAL_SECONDS = 3600.0
KEYS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


def make_files(releases: int, megabytes: float) -> dict[str, list[tuple[str, bytes]]]:
    """version -> [(filename, content)]: an sdist and a wheel per release."""
    rng = random.Random(2022)
    each = int(megabytes * 1_000_000 / (2 * releases))
    return {f"1.{i}.0": [(f"{PROJECT}-1.{i}.0.tar.gz", rng.randbytes(each)),
                         (f"{PROJECT}-1.{i}.0-py2.py3-none-any.whl", rng.randbytes(each))]
            for i in range(releases)}


def blob_key(data: bytes, filename: str) -> str:
    b2 = hashlib.blake2b(data, digest_size=32).hexdigest()
    return f"packages/{b2[:2]}/{b2[2:4]}/{b2[4:]}/{filename}"


def start_moto(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """moto's S3 server in its own process (in a thread it would share our GIL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                 "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(endpoint, timeout=1):
                return proc, endpoint
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"moto server did not start: {log.read_text()[-1000:]}"
                                 ) from None
            time.sleep(0.1)


async def feed_sync(settings: Settings) -> None:
    warden = await Warden.open(settings)
    try:
        await warden.ensure_critical_set()
        await warden.feed.sync()
    finally:
        await warden.close()


async def timed_restore(label: str, store_url: str, admin: IndexAdmin, storage: S3Storage,
                        files: int) -> float:
    engine = create_engine(store_url)
    actions = Actions(session_factory(engine), Backends(admin, storage),
                      PlaybooksSection(approval_waived=["restore"]), ["bench"])
    try:
        start = time.perf_counter()
        run = await actions.request("bench", "restore", Target(project=PROJECT),
                                    reason=f"bench: {label}")
        planned = time.perf_counter()
        done = await actions.run(run.id, "bench")
        elapsed = time.perf_counter() - start
        print(f"    {label}: plan {planned - start:.2f} s, apply and verify "
              f"{start + elapsed - planned:.2f} s")
    finally:
        await actions.backends.close()
        await engine.dispose()
    added = sum(1 for s in done.steps if s.action == "add-file")
    if done.status != "done" or not done.verified or added != files:
        raise SystemExit(f"{label}: restore did not finish cleanly: {done.status} "
                         f"{done.error} ({added}/{files} files)")
    return elapsed


async def raw_read(storage: S3Storage, keys: list[str]) -> float:
    """List each key's versions and download the newest real one, as concurrently as the
    restore's planner does: the least any restore from this bucket can take."""
    gate = asyncio.Semaphore(LOCATE_CONCURRENCY)

    async def fetch(key: str) -> None:
        async with gate:
            for version in await storage.versions(key):
                if not version.deleted:
                    await storage.get(key, version.version_id)
                    return

    start = time.perf_counter()
    await asyncio.gather(*(fetch(k) for k in keys))
    return time.perf_counter() - start


async def main(releases: int, megabytes: float, with_devpi: bool, work: Path) -> None:
    configure_logging("warning", "false")
    moto, endpoint = start_moto(work / "moto.log")
    by_version = make_files(releases, megabytes)
    files = {name: data for dists in by_version.values() for name, data in dists}
    total_mb = sum(len(d) for d in files.values()) / 1_000_000

    # The index double with the project, seen by the feed, then removed.
    index = IndexDoubleStore(work / "index.sqlite", work / "files")
    server = IndexDoubleServer(index)
    url = await server.start()
    store_url = f"sqlite+aiosqlite:///{work / 'warden.db'}"
    await upgrade_async(store_url)
    settings = load_settings(None, store={"url": store_url}, index={"url": url},
                             critical={"projects": [PROJECT], "top": "0"},
                             notify={"console": False}, feed={"start_serial": 0},
                             access={"admins": ["bench"]}, log={"level": "warning"})
    index.add_user("maintainer", "maintainer@example.org")
    index.create_project(PROJECT, "maintainer")
    for version, dists in by_version.items():
        index.add_release(PROJECT, version, dists, uploader="maintainer")
    await feed_sync(settings)
    index.remove_project(PROJECT, actor="maintainer")
    await feed_sync(settings)
    shutil.rmtree(work / "files" / "packages")

    # The bucket had every blob; now each hides behind a delete marker.
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **KEYS)
    bucket = f"pypi-files-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for name, data in files.items():
        s3.put_object(Bucket=bucket, Key=blob_key(data, name), Body=data)
        s3.delete_object(Bucket=bucket, Key=blob_key(data, name))

    async def bucket_storage() -> S3Storage:
        return await S3Storage.open(bucket, endpoint_url=endpoint, region="us-east-1",
                                    access_key_id="bench", secret_access_key="bench")

    print(f"restore of {PROJECT}: {releases} releases, {len(files)} files, {total_mb:.1f} MB, "
          "from versioned S3 (moto, loopback; every object behind a delete marker)")
    floor_storage = await bucket_storage()
    floor = await raw_read(floor_storage, [blob_key(d, n) for n, d in files.items()])
    await floor_storage.close()
    print(f"  {'same-run floor: download the blobs only':<44} {floor:7.2f} s")

    results = []
    admin: IndexAdmin = WarehouseAdmin.open(f"sqlite+aiosqlite:///{work / 'index.sqlite'}",
                                            FilesystemStorage(work / "files"))
    results.append(("index double (warehouse backend)", await timed_restore(
        "index double", store_url, admin, await bucket_storage(), len(files))))
    await server.stop()
    index.close()

    if with_devpi:
        devpi = start_local_devpi(work / "devpi")
        try:
            devpi.new_user("maintainer", "maintainer-pw", "maintainer@example.org")
            name = devpi.new_index("maintainer", "prod", uploaders=["maintainer", "root"])
            devpi_admin = await DevpiAdmin.open(devpi.url, name, "root", devpi.root_password)
            for version, dists in by_version.items():  # what the index held before
                for filename, data in dists:
                    d = Digests.of(data)
                    spec = FileSpec(filename, version, d.size, d.sha256, d.blake2b_256, d.md5)
                    await devpi_admin.add_file(PROJECT, spec, data, "maintainer")
            await devpi_admin.remove_project(PROJECT)
            results.append(("devpi-server (devpi backend)", await timed_restore(
                "devpi", store_url, devpi_admin, await bucket_storage(), len(files))))
        finally:
            devpi.stop()
    for label, seconds in results:
        print(f"  {label:<44} {seconds:7.2f} s   {MANUAL_SECONDS / seconds:7.0f}x faster than "
              f"the ~{MANUAL_SECONDS:.0f} s manual restore")
    moto.terminate()
    moto.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, default=30)
    parser.add_argument("--megabytes", type=float, default=20.0)
    parser.add_argument("--no-devpi", action="store_true", help="Skip the devpi backend.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warden-bench-restore-") as tmp:
        asyncio.run(main(args.releases, args.megabytes, not args.no_devpi, Path(tmp)))
