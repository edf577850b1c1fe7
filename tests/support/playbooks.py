"""Fixtures of the playbooks' world, for every area that acts on it (playbooks, actions,
the CLI, Slack): a removed project on the index double, Warehouse's
real schema in PostgreSQL (one template per session, a clone per test), S3 (moto's server
on loopback) and a real devpi-server (started once per session, offline)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest

from playbooks.index_admin.devpi_local import LocalDevpi, start_local_devpi
from tests.support.indexdouble import IndexDouble
from tests.support.pg import PG_SERVER, asyncpg_url, database
from tests.support.warehouse_db import load_schema
from tests.support.world import World, build_world


@pytest.fixture
async def world(index_double: IndexDouble, sqlite_url: str, no_env: None) -> World:
    """A removed critical project; bot store on SQLite."""
    return await build_world(index_double, sqlite_url)


@pytest.fixture
async def world_any_store(index_double: IndexDouble, store_url: str, no_env: None) -> World:
    """The same, once with the bot store on SQLite and once on PostgreSQL."""
    return await build_world(index_double, store_url)


# -- Warehouse's real schema ---------------------------------------------------------------

@pytest.fixture(scope="session")
def warehouse_template() -> Iterator[str]:
    """A database built from tests/fixtures/warehouse-schema.sql, to clone per test."""
    with database(f"warden_whtpl_{os.getpid()}_{uuid.uuid4().hex[:6]}") as name:
        asyncio.run(load_schema(f"{PG_SERVER}/{name}"))
        yield name


@pytest.fixture
def warehouse_url(warehouse_template: str) -> Iterator[str]:
    """A fresh, empty Warehouse database of its own (asyncpg URL)."""
    with database(f"warden_wh_{uuid.uuid4().hex[:12]}", template=warehouse_template) as name:
        yield asyncpg_url(name)


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
