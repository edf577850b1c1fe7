"""A devpi-server run as a replication primary, and the replica key derived from its
secret by devpi's own code (what an operator gives index-warden)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from playbooks.index_admin.base import FileSpec, ReleaseSpec
from playbooks.index_admin.devpi import DevpiAdmin
from playbooks.index_admin.devpi_local import LocalDevpi, start_local_devpi
from tests.support.dists import wheel

# Cheap key derivation: the tests derive the replica key once per server.
ARGON2 = ("--argon2-time-cost", "1", "--argon2-memory-cost", "8192",
          "--argon2-parallelism", "1")


def replica_key(secretfile: Path) -> bytes:
    """devpi's config.get_replica_secret() for that secret (and these argon2 options)."""
    from devpi_server.config import get_pluginmanager, parseoptions

    config = parseoptions(get_pluginmanager(),
                          ["devpi-server", "--secretfile", str(secretfile), *ARGON2])
    key = config.get_replica_secret()
    assert isinstance(key, bytes)
    return key


@pytest.fixture
def devpi_primary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalDevpi, bytes]]:
    base = tmp_path_factory.mktemp("devpi-primary")
    try:
        server = start_local_devpi(base, extra_args=("--role", "primary", *ARGON2))
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    try:
        yield server, replica_key(base / "secret")
    finally:
        server.stop()


async def upload(server: LocalDevpi, index: str, user: str, password: str, project: str,
                 version: str, size: int = 200) -> tuple[str, bytes]:
    """Register and upload one wheel through devpi's upload API; (filename, bytes)."""
    filename, data = wheel(project, version, size)
    admin = await DevpiAdmin.open(server.url, index, user, password)
    try:
        await admin.create_release(project, ReleaseSpec(version, None, None, (), False, ""), user)
        await admin.add_file(project, FileSpec(filename, version, len(data),
                                               hashlib.sha256(data).hexdigest(), "", None, None,
                                               None, None, None), data, user)
    finally:
        await admin.close()
    return filename, data


def upload_sync(*args: object, **kwargs: object) -> tuple[str, bytes]:
    return asyncio.run(upload(*args, **kwargs))  # type: ignore[arg-type]
