"""docs/warehouse-grants.sql is enough: every playbook runs against Warehouse's real
schema as a PostgreSQL role that has exactly those grants and nothing more."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa

from playbooks.base import Target
from playbooks.index_admin.warehouse import WarehouseAdmin
from playbooks.settings import PlaybooksSection
from tests.playbooks.index_admin.test_warehouse_playbooks import Wh, _world, run
from tests.support import REPO
from tests.support.warehouse_db import dsn, feed_ledger

pytestmark = pytest.mark.service
GRANTS = REPO / "docs" / "warehouse-grants.sql"


async def test_the_documented_grants_suffice(warehouse_url: str, sqlite_url: str,
                                             tmp_path: Path) -> None:
    role = f"warden_grants_{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(dsn(warehouse_url))
    await owner.execute(f'CREATE ROLE "{role}" LOGIN')
    await owner.execute(GRANTS.read_text().replace(':"role"', f'"{role}"'))
    server, database = warehouse_url.rsplit("/", 1)
    as_role = server.replace("://postgres@", f"://{role}@", 1) + f"/{database}"
    seed, actions, sessions, ids = await _world(warehouse_url, sqlite_url, tmp_path / "files",
                                                PlaybooksSection(two_admin_approval=False),
                                                admin_url=as_role)
    wh = Wh(warehouse_url, seed, actions, sessions, ids)
    try:
        admin = actions.backends.admin
        assert isinstance(admin, WarehouseAdmin)
        async with admin.engine.connect() as c:
            assert (await c.execute(sa.text("SELECT current_user"))).scalar() == role
        serial = await feed_ledger(sessions, warehouse_url, "evil-pkg")
        release = Target(project="evil-pkg", version="1.0")
        await run(wh, "yank", release, reason="x")
        await run(wh, "unyank", release)
        await run(wh, "freeze", Target(account="mallory"), prohibit_shared_domains=True)
        await run(wh, "unfreeze", Target(account="mallory"))
        await run(wh, "unverify-email", Target(email="mallory@evil.example"))
        await run(wh, "quarantine", release)
        await run(wh, "unquarantine", release)
        await run(wh, "quarantine", Target(project="evil-pkg"))
        await run(wh, "unquarantine", Target(project="evil-pkg"))
        await run(wh, "remove-malware", release, reason="malware")
        serial = await feed_ledger(sessions, warehouse_url, "evil-pkg", since=serial)
        await run(wh, "restore", release)
        await run(wh, "remove-malware", Target(project="evil-pkg"), reason="malware")
        await feed_ledger(sessions, warehouse_url, "evil-pkg", since=serial)
        await run(wh, "restore", Target(project="evil-pkg"))
    finally:
        await actions.backends.close()
        await seed.conn.close()
        await owner.execute(f'DROP OWNED BY "{role}"')
        await owner.close()
        admin = await asyncpg.connect(dsn(server + "/test"))
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()
