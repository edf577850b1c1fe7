"""Blobs in a directory tree (the embedded default; the index double serves from one)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from playbooks.storage.base import BlobVersion, check_path

__all__ = ["FilesystemStorage"]


class FilesystemStorage:
    """``root/<path>``; one version per path (no history)."""

    kind = "filesystem"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _file(self, path: str) -> Path:
        return self.root / check_path(path)

    async def get(self, path: str, version_id: str | None = None) -> bytes | None:
        if version_id is not None:
            return None  # a plain directory keeps no versions
        file = self._file(path)
        try:
            return await asyncio.to_thread(file.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    async def versions(self, path: str) -> list[BlobVersion]:
        try:
            st = await asyncio.to_thread(self._file(path).stat)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [BlobVersion(None, True, False, datetime.fromtimestamp(st.st_mtime, UTC),
                            st.st_size)]

    async def ensure(self, path: str, data: bytes) -> bool:
        return await asyncio.to_thread(self._ensure, self._file(path), data)

    @staticmethod
    def _ensure(file: Path, data: bytes) -> bool:
        try:
            if file.stat().st_size == len(data) and file.read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        file.parent.mkdir(parents=True, exist_ok=True)
        # Write aside and rename, so a crash never leaves a truncated blob at the path.
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".restore-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    async def close(self) -> None:
        return None
