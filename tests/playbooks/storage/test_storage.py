"""Blob storage: the filesystem backend and S3 (moto's server) with versioned buckets."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import boto3
import pytest

from bot.actions import PlanRefused
from bot.store.playbook_models import RunStatus
from playbooks.base import Target
from playbooks.settings import PlaybooksSection
from playbooks.storage.base import InvalidBlobPath, blob_path
from playbooks.storage.filesystem import FilesystemStorage
from playbooks.storage.locate import Expected, Located, NotLocated, locate
from playbooks.storage.s3 import S3Storage
from tests.support.world import PROJECT, World, close_actions, index_rows, open_actions

pytestmark = pytest.mark.service
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def expected(data: bytes, filename: str = "pkg-1.0.tar.gz") -> Expected:
    b2 = hashlib.blake2b(data, digest_size=32).hexdigest()
    return Expected("packages/" + blob_path(b2, filename), len(data),
                    hashlib.sha256(data).hexdigest(), b2)


def s3_client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **KEYS)


def new_bucket(endpoint: str, *, versioned: bool) -> str:
    name = f"files-{uuid.uuid4().hex[:10]}"
    client = s3_client(endpoint)
    client.create_bucket(Bucket=name)
    if versioned:
        client.put_bucket_versioning(Bucket=name,
                                     VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
async def versioned(moto_endpoint: str) -> AsyncIterator[S3Storage]:
    storage = await S3Storage.open(new_bucket(moto_endpoint, versioned=True),
                                   endpoint_url=moto_endpoint, region="us-east-1",
                                   access_key_id="testing", secret_access_key="testing")
    yield storage
    await storage.close()


async def test_versioned_bucket_delete_marker_and_overwrite(versioned: S3Storage,
                                                            moto_endpoint: str) -> None:
    good = b"the real sdist" * 100
    want = expected(good)
    client = s3_client(moto_endpoint)
    client.put_object(Bucket=versioned.bucket, Key=want.path, Body=good)
    found = await locate(versioned, want)
    assert isinstance(found, Located) and found.version_id is None and found.data == good

    client.delete_object(Bucket=versioned.bucket, Key=want.path)  # a delete marker
    assert await versioned.get(want.path) is None
    history = await versioned.versions(want.path)
    assert [v.deleted for v in history] == [True, False] and history[0].is_latest
    found = await locate(versioned, want)
    assert isinstance(found, Located) and found.data == good
    assert found.version_id == history[1].version_id
    assert found.note and "no current object" in found.note

    client.put_object(Bucket=versioned.bucket, Key=want.path, Body=b"tampered")
    client.put_object(Bucket=versioned.bucket, Key=want.path, Body=good + b"!")
    found = await locate(versioned, want)
    assert isinstance(found, Located) and found.version_id == history[1].version_id
    assert found.note and "differs from the ledger" in found.note

    # Putting it back makes it current again; a second ensure() writes nothing.
    assert await versioned.ensure(want.path, good) is True
    assert await versioned.ensure(want.path, good) is False
    assert await versioned.get(want.path) == good


async def test_unversioned_bucket_reports_missing_and_mismatch(moto_endpoint: str) -> None:
    storage = await S3Storage.open(new_bucket(moto_endpoint, versioned=False),
                                   endpoint_url=moto_endpoint, region="us-east-1",
                                   access_key_id="testing", secret_access_key="testing")
    try:
        want = expected(b"content")
        missing = await locate(storage, want)
        assert isinstance(missing, NotLocated) and missing.problem == "missing"
        await storage.ensure(want.path, b"other content")
        bad = await locate(storage, want)
        assert isinstance(bad, NotLocated) and bad.problem == "mismatch"
        assert "sha256 is" in bad.detail and "blake2b_256 is" in bad.detail
    finally:
        await storage.close()


async def test_filesystem_refuses_unsafe_paths(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    for bad in ("../etc/passwd", "/etc/passwd", "packages/../../x", "a//b"):
        with pytest.raises(InvalidBlobPath):
            await storage.get(bad)
    with pytest.raises(InvalidBlobPath):
        blob_path("ab" * 32, "../evil.whl")
    assert await storage.ensure("packages/a/b.whl", b"x") is True
    assert await storage.ensure("packages/a/b.whl", b"x") is False
    assert [v.size for v in await storage.versions("packages/a/b.whl")] == [1]


async def test_restore_from_versioned_s3_after_the_bucket_lost_them(
        world: World, sqlite_url: str, moto_endpoint: str) -> None:
    """The blobs exist only as old versions behind delete markers in S3, and the index's
    own files directory lost them too: restore finds them and puts them back."""
    bucket = new_bucket(moto_endpoint, versioned=True)
    client = s3_client(moto_endpoint)
    for filename, data in world.files.items():
        key = expected(data, filename).path
        client.put_object(Bucket=bucket, Key=key, Body=data)
        client.delete_object(Bucket=bucket, Key=key)
    shutil.rmtree(world.files_dir / "packages")
    storage = await S3Storage.open(bucket, endpoint_url=moto_endpoint, region="us-east-1",
                                   access_key_id="testing", secret_access_key="testing")
    actions, engine = open_actions(world, sqlite_url, storage=storage,
                                   config=PlaybooksSection(approval_waived=["restore"]))
    try:
        run = await actions.request("alice", "restore", Target(project=PROJECT), reason="r")
        assert run.plan.text().count("using older version") == len(world.files)
        done = await actions.run(run.id, "alice")
        assert done.status == RunStatus.DONE and done.verified, done.error
        for filename, data in world.files.items():
            assert world.blob(filename).read_bytes() == data
        assert len(index_rows(world)["files"]) == len(world.files)
    finally:
        await close_actions(actions, engine)


async def test_restore_refuses_when_s3_has_no_matching_version(
        world: World, sqlite_url: str, moto_endpoint: str) -> None:
    bucket = new_bucket(moto_endpoint, versioned=True)
    client = s3_client(moto_endpoint)
    for filename, data in world.files.items():
        client.put_object(Bucket=bucket, Key=expected(data, filename).path, Body=data[::-1])
    storage = await S3Storage.open(bucket, endpoint_url=moto_endpoint, region="us-east-1",
                                   access_key_id="testing", secret_access_key="testing")
    actions, engine = open_actions(world, sqlite_url, storage=storage)
    try:
        with pytest.raises(PlanRefused) as refused:
            await actions.request("alice", "restore", Target(project=PROJECT), reason="r")
        assert sum("mismatch" in b for b in refused.value.plan.blockers) == len(world.files)
    finally:
        await close_actions(actions, engine)
