"""Blobs in an S3-compatible bucket (aiobotocore), versioned buckets included.

On a versioned bucket a deleted object is only hidden behind a delete marker and an
overwritten one keeps its old versions; ``versions()`` lists them so a restore can
pick the newest version whose digests match the ledger.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from playbooks.storage.base import BlobVersion, Digests, check_path

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

__all__ = ["S3Storage"]

_GONE = {"NoSuchKey", "404", "NotFound", "NoSuchVersion", "MethodNotAllowed", "405"}


def _gone(exc: ClientError) -> bool:
    # A GET of a delete marker answers 405 MethodNotAllowed; a missing key 404.
    return str(exc.response.get("Error", {}).get("Code")) in _GONE


class S3Storage:
    """``s3://bucket/<prefix><path>``. Open with :meth:`open`, close with :meth:`close`."""

    kind = "s3"

    def __init__(self, client: S3Client, stack: AsyncExitStack, bucket: str,
                 prefix: str = "") -> None:
        self._client = client
        self._stack = stack
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    async def open(cls, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                   region: str | None = None, access_key_id: str | None = None,
                   secret_access_key: str | None = None, io_timeout: float = 60.0,
                   ) -> S3Storage:
        """Credentials: the given keys, else botocore's usual chain (env, profile, role)."""
        stack = AsyncExitStack()
        config = AioConfig(connect_timeout=io_timeout, read_timeout=io_timeout,
                        retries={"max_attempts": 5, "mode": "standard"})
        client = await stack.enter_async_context(get_session().create_client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config,
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key))
        return cls(client, stack, bucket, prefix)

    def _key(self, path: str) -> str:
        return self.prefix + check_path(path)

    async def get(self, path: str, version_id: str | None = None) -> bytes | None:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(path)}
        if version_id is not None:
            args["VersionId"] = version_id
        try:
            response = await self._client.get_object(**args)
        except ClientError as exc:
            if _gone(exc):
                return None
            raise
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def versions(self, path: str) -> list[BlobVersion]:
        key = self._key(path)
        found: list[BlobVersion] = []
        paginator = self._client.get_paginator("list_object_versions")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            for v in page.get("Versions", []):
                if v.get("Key") == key:
                    found.append(BlobVersion(v.get("VersionId"), bool(v.get("IsLatest")),
                                             False, v.get("LastModified"), v.get("Size")))
            for m in page.get("DeleteMarkers", []):
                if m.get("Key") == key:
                    found.append(BlobVersion(m.get("VersionId"), bool(m.get("IsLatest")),
                                             True, m.get("LastModified"), None))
        return sorted(found, key=_newest_first)

    async def ensure(self, path: str, data: bytes) -> bool:
        key = self._key(path)
        try:
            head = await self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if not _gone(exc):
                raise
        else:
            # A single-part upload's ETag is the MD5 of the content.
            if (head.get("ContentLength") == len(data)
                    and head.get("ETag", "").strip('"') == Digests.of(data).md5):
                return False
        await self._client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return True

    async def close(self) -> None:
        await self._stack.aclose()


def _newest_first(v: BlobVersion) -> tuple[bool, float]:
    stamp = v.modified.timestamp() if isinstance(v.modified, datetime) else 0.0
    return (not v.is_latest, -stamp)
