"""Fixtures for the playbook tests: a removed project on the index double, S3 (moto's
server on loopback) and a real devpi-server (started once per session, offline)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pb_world import World, build_world

from _indexdouble_fixtures import IndexDouble
from playbooks.index_admin.devpi_local import LocalDevpi, start_local_devpi


@pytest.fixture
async def world(index_double: IndexDouble, sqlite_url: str, no_env: None) -> World:
    """A removed critical project; bot store on SQLite."""
    return await build_world(index_double, sqlite_url)


@pytest.fixture
async def world_any_store(index_double: IndexDouble, store_url: str, no_env: None) -> World:
    """The same, once with the bot store on SQLite and once on PostgreSQL."""
    return await build_world(index_double, store_url)


# -- S3 ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


# -- devpi -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def devpi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDevpi]:
    """One offline devpi-server for the whole session (it takes seconds to start)."""
    try:
        server = start_local_devpi(tmp_path_factory.mktemp("devpi"))
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()
