"""The BlobStorage protocol, blob digests and the PyPI blob path.

PyPI keeps every file at ``packages/<b2[:2]>/<b2[2:4]>/<b2[4:]>/<filename>`` (b2 = the
blake2b-256 hex digest of the content) and never deletes it when a project is removed;
a versioned bucket also keeps older versions after an overwrite or a delete.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["BlobStorage", "BlobVersion", "Digests", "InvalidBlobPath", "blob_path", "check_path"]


class InvalidBlobPath(ValueError):
    """A path that could escape the storage root (``..``, absolute, empty parts)."""


@dataclass(frozen=True, slots=True)
class BlobVersion:
    """One stored version of a path, newest first in ``versions()``."""

    version_id: str | None
    is_latest: bool
    deleted: bool  # an S3 delete marker: the path looks gone from here on
    modified: datetime | None
    size: int | None


@dataclass(frozen=True, slots=True)
class Digests:
    size: int
    sha256: str
    blake2b_256: str
    md5: str

    @classmethod
    def of(cls, data: bytes) -> Digests:
        return cls(
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            blake2b_256=hashlib.blake2b(data, digest_size=32).hexdigest(),
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        )


def check_path(path: str) -> str:
    """Refuse paths that are not plain relative keys; the ledger's data came from outside."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or any(
        p in ("", ".", "..") for p in parts
    ):
        raise InvalidBlobPath(f"unsafe blob path {path!r}")
    return path


def blob_path(blake2b_256: str, filename: str) -> str:
    """Warehouse's ``release_files.path`` for a blob (without the ``packages/`` prefix)."""
    b2 = blake2b_256.lower()
    if len(b2) != 64 or any(c not in "0123456789abcdef" for c in b2):
        raise InvalidBlobPath(f"not a blake2b-256 hex digest: {blake2b_256!r}")
    if "/" in filename or "\\" in filename or filename.startswith("."):
        raise InvalidBlobPath(f"unsafe filename {filename!r}")
    return f"{b2[:2]}/{b2[2:4]}/{b2[4:]}/{filename}"


class BlobStorage(Protocol):
    """Read (any version), list versions, and put a blob back."""

    kind: str

    async def get(self, path: str, version_id: str | None = None) -> bytes | None:
        """The current content (or that version's); None if there is none."""
        ...

    async def versions(self, path: str) -> list[BlobVersion]:
        """Every stored version of exactly ``path``, newest first (delete markers too)."""
        ...

    async def ensure(self, path: str, data: bytes) -> bool:
        """Make ``data`` the current content of ``path``; False if it already was."""
        ...

    async def close(self) -> None: ...
