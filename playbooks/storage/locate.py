"""Find a blob whose digests match the ledger: the current object, else the newest
matching older version (a versioned bucket after a delete or an overwrite)."""

from __future__ import annotations

from dataclasses import dataclass

from playbooks.storage.base import BlobStorage, Digests

__all__ = ["Expected", "Located", "NotLocated", "locate", "mismatch"]


@dataclass(frozen=True, slots=True)
class Expected:
    """What the ledger recorded for a file."""

    path: str
    size: int
    sha256: str
    blake2b_256: str


@dataclass(frozen=True, slots=True)
class Located:
    data: bytes
    version_id: str | None  # None: the current object
    note: str | None = None


@dataclass(frozen=True, slots=True)
class NotLocated:
    problem: str  # "missing" or "mismatch"
    detail: str


def mismatch(expected: Expected, data: bytes) -> str | None:
    """Why ``data`` is not the ledger's file, or None when size, sha256 and blake2b agree."""
    got = Digests.of(data)
    wrong = [
        f"{name} is {have}, ledger says {want}"
        for name, have, want in (
            ("size", got.size, expected.size),
            ("sha256", got.sha256, expected.sha256.lower()),
            ("blake2b_256", got.blake2b_256, expected.blake2b_256.lower()),
        )
        if have != want
    ]
    return "; ".join(wrong) or None


async def locate(storage: BlobStorage, expected: Expected) -> Located | NotLocated:
    current = await storage.get(expected.path)
    if current is not None:
        problem = mismatch(expected, current)
        if problem is None:
            return Located(current, None)
        why = f"current object differs from the ledger ({problem})"
    else:
        why = "no current object"
    for version in await storage.versions(expected.path):
        if version.deleted or version.is_latest or version.version_id is None:
            continue
        data = await storage.get(expected.path, version.version_id)
        if data is not None and mismatch(expected, data) is None:
            when = version.modified.isoformat() if version.modified else "unknown time"
            return Located(data, version.version_id,
                           f"{why}; using older version {version.version_id} ({when}), "
                           "digests match")
    if current is None:
        return NotLocated("missing", f"{storage.kind}:{expected.path}: {why} and no older "
                                     "version matches")
    return NotLocated("mismatch", f"{storage.kind}:{expected.path}: {why}")
