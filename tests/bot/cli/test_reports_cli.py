"""`warden reports poll` and `warden reports stats` as an admin runs them, against
Warehouse's real schema: verdicts written as Warehouse's admin view writes them."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from bot.feed.reports_stats import percentile
from tests.support import REPO
from tests.support.cli import warden
from tests.support.reports import report, trust
from tests.support.warehouse_db import Seeder, dsn

pytestmark = pytest.mark.service

T = datetime(2026, 3, 2, 9, 0)  # naive UTC, as Warehouse stores time


def _verdict(action: str, after: timedelta, actor: str = "ee") -> dict[str, object]:
    at = (T + after).replace(tzinfo=UTC)
    entry: dict[str, object] = {"actor": actor, "action": action, "created_at": str(at)}
    if action == "verdict_not_malware":
        entry["reason"] = "fine"
    return {str(int(at.timestamp())): entry}


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([10.0], 95) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([float(i) for i in range(1, 101)], 95) == pytest.approx(95.05)


async def test_poll_then_stats(warehouse_url: str, sqlite_url: str, tmp_path: Path) -> None:
    seed = Seeder(await asyncpg.connect(dsn(warehouse_url)), tmp_path / "files")
    try:
        for name in ("admin", "mallory", "hunter", "noisy"):
            await seed.user(name, (f"{name}@example.org", True))
        await trust(seed.conn, "hunter")
        for name in ("bad-a", "bad-b", "fine-c", "open-d"):
            await seed.project(name, "mallory")
        # hunter: two confirmed (2 h and 6 h); noisy: one false positive (30 min), one open.
        await report(seed.conn, "bad-a", "hunter", created=T,
                     actions=_verdict("remove_malware", timedelta(hours=2)))
        await report(seed.conn, "bad-b", "hunter", created=T,
                     actions=_verdict("remove_malware", timedelta(hours=6)))
        await report(seed.conn, "fine-c", "noisy", created=T,
                     actions=_verdict("verdict_not_malware", timedelta(minutes=30)))
        await report(seed.conn, "open-d", "noisy", created=T)
    finally:
        await seed.conn.close()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")},
           "PYTHONPATH": str(REPO), "WARDEN_STORE_URL": sqlite_url,
           "WARDEN_NOTIFY_CONSOLE": "false", "WARDEN_CRITICAL_TOP": "0",
           "WARDEN_REPORTS_WAREHOUSE_URL": warehouse_url,
           "WARDEN_REPORTS_INITIAL_DAYS": "100000", "COLUMNS": "300"}
    code, out, err = await warden(env, tmp_path, "reports", "stats", "--since", "2026-03-01",
                                  "--until", "2026-03-03", "--json")
    assert code == 0, err
    stats = json.loads(out)
    assert (stats["reports"], stats["decided"], stats["pending"]) == (4, 3, 1)
    assert stats["time_to_verdict_seconds"]["p50"] == 7200.0
    assert stats["time_to_verdict_seconds"]["p95"] == 20160.0  # 7200 + 0.9 * (21600 - 7200)
    assert stats["decided_within_4h"] == 66.7
    assert stats["oldest_pending_seconds"] == 15 * 3600  # 09:00 to the end of the period
    assert stats["verdicts"] == {"remove_malware": 2, "verdict_not_malware": 1}
    by = {o["observer"]: o for o in stats["observers"]}
    assert by["hunter"] == {"observer": "hunter", "trusted": True, "reports": 2,
                            "confirmed": 2, "false_positives": 0, "pending": 0,
                            "accuracy": 100.0}
    assert by["noisy"]["accuracy"] == 0.0 and by["noisy"]["pending"] == 1

    code, out, err = await warden(env, tmp_path, "reports", "stats", "--since", "2026-03-01",
                                  "--until", "2026-03-03")
    assert code == 0, err
    assert "4 report(s), 3 decided, 1 pending" in out
    assert "p50 2.0 h, p90 5.2 h, p95 5.6 h" in out and "66.7% within 4 h" in out

    code, out, err = await warden(env, tmp_path, "reports", "poll", "--json")
    assert code == 0, err
    polled = json.loads(out)
    assert polled["reports"] == 4 and len(polled["incidents"]) == 1  # only open-d is open
    code, out, err = await warden(env, tmp_path, "reports", "poll", "--json")
    assert json.loads(out)["reports"] == 0

    code, out, err = await warden(env, tmp_path, "reports", "stats", "--since", "2026-03-05",
                                  "--until", "2026-03-01")
    assert code == 2 and "--since must be before --until" in err
