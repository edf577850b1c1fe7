"""Migration 0011: an open domain incident under the old per-kind key is moved to the
one-per-domain key, so the next finding about its domain updates it (issue 18, item 4)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa

from bot.incidents import record_finding
from bot.store.db import create_engine, session_factory
from bot.store.migrate import head_revisions, upgrade
from bot.store.models import Incident
from bot.types import Finding, Severity

T = datetime(2026, 3, 2, tzinfo=UTC)
OURS = "0011_domain_accounts"


def _row(kind: str, subject: str, open_: bool) -> dict[str, Any]:
    key = f"domains/{kind}/{subject}"
    return {"dedup_key": key, "open_key": key if open_ else None, "detector": "domains",
            "kind": kind, "subject": subject, "severity": "high", "status": "open",
            "summary": f"{subject} {kind}", "evidence": [], "playbooks": [], "occurrences": 1,
            "created_at": T, "updated_at": T}


def test_lone_open_domain_incidents_take_the_per_domain_key(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    for head in sorted(head_revisions() - {OURS}):
        upgrade(url, head)
    table = cast(sa.Table, Incident.__table__)
    sync = sa.create_engine(url.replace("+aiosqlite", ""))
    with sync.begin() as conn:
        conn.execute(sa.insert(table), [
            _row("expired", "domain:a.org", True),
            _row("expired", "domain:b.org", True), _row("parked", "domain:b.org", True),
            _row("expired", "domain:c.org", False)])
    upgrade(url, "heads")
    with sync.connect() as conn:
        keys = {(r.subject, r.kind): r.open_key for r in conn.execute(sa.select(table))}
    sync.dispose()
    assert keys == {("domain:a.org", "expired"): "domains/domain/domain:a.org",
                    ("domain:b.org", "expired"): "domains/expired/domain:b.org",
                    ("domain:b.org", "parked"): "domains/parked/domain:b.org",
                    ("domain:c.org", "expired"): None}

    asyncio.run(_next_finding_updates_it(url))


async def _next_finding_updates_it(url: str) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            incident = await record_finding(session, Finding(
                detector="domains", kind="parked", subject="domain:a.org",
                severity=Severity.CRITICAL, summary="a.org parked", group="domain"), T, [])
            assert (incident.occurrences, incident.kind) == (2, "parked")
    finally:
        await engine.dispose()
