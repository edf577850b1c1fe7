"""The CLI faces: --dry-run, a request that waits for a second admin, approve-and-run,
show with the audit trail, and a configuration error (exit 2)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store.db import create_engine, session_factory
from bot.store.models import AuditEntry
from playbooks.settings import PlaybooksSection, StorageSection
from tests.support import REPO
from tests.support.cli import warden
from tests.support.world import PROJECT, World, index_rows

pytestmark = [pytest.mark.service, pytest.mark.slow]


def environment(world: World, store_url: str, **extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")},
            "PYTHONPATH": str(REPO), "WARDEN_STORE_URL": store_url,
            "WARDEN_CRITICAL_TOP": "0", "WARDEN_ACCESS_ADMINS": "alice,bob",
            "WARDEN_NOTIFY_CONSOLE": "false", "WARDEN_PLAYBOOKS_WAREHOUSE_URL": world.db_url,
            "WARDEN_STORAGE_ROOT": str(world.files_dir), "COLUMNS": "200", **extra}


async def test_dry_run_request_approve_show(world: World, sqlite_url: str,
                                            tmp_path: Path) -> None:
    env = environment(world, sqlite_url)
    before = index_rows(world)
    code, out, err = await warden(env, tmp_path, "restore", PROJECT, "--dry-run",
                                  "--actor", "alice")
    assert code == 0, err
    assert f"create project {PROJECT}" in out and "10 change(s)" in out
    assert index_rows(world) == before

    code, out, err = await warden(env, tmp_path, "restore", PROJECT, "--yes",
                                  "--actor", "alice", "--reason", "deleted by its maintainer")
    assert code == 0, err
    assert "awaits approval by a second admin: warden playbook approve 1" in out
    assert index_rows(world) == before

    code, out, err = await warden(env, tmp_path, "playbook", "approve", "1", "--actor", "bob", "--yes",
                                  "--json")
    assert code == 0, err
    run = json.loads(out)
    assert run["status"] == "done" and run["verified"] and run["steps_done"] == 10
    assert run["approvals"] == [{"approver": "bob", "decision": "approved", "note": None}]
    assert len(index_rows(world)["files"]) == len(world.files)

    code, out, err = await warden(env, tmp_path, "playbook", "show", "1", "--audit", "--json")
    assert code == 0, err
    audit = json.loads(out)["audit"]
    steps = [e for e in audit if e["action"] == "restore.add-file"]
    assert len(steps) == 12 and {e["outcome"] for e in steps} == {"started", "done"}
    assert all(e["approver"] == "bob" and e["actor"] == "bob" for e in steps)
    assert audit[0]["action"] == "playbook.request" and audit[0]["actor"] == "alice"


async def test_refusals_and_configuration_errors(world: World, sqlite_url: str,
                                                 tmp_path: Path) -> None:
    env = environment(world, sqlite_url)
    code, _, err = await warden(env, tmp_path, "yank", PROJECT, "1.0", "--reason", "x",
                                "--yes", "--actor", "mallory")
    assert code == 1 and "'mallory' is not an admin" in err
    tampered = next(iter(world.files))
    world.blob(tampered).write_bytes(b"not the file")
    code, _, err = await warden(env, tmp_path, "restore", PROJECT, "--yes", "--actor", "bob")
    assert code == 1 and f"{tampered}: mismatch" in err and "REFUSED" in err
    engine = create_engine(sqlite_url)
    async with session_factory(engine)() as s:
        refused = (await s.execute(sa.select(AuditEntry.actor, AuditEntry.action).where(
            AuditEntry.outcome == "refused").order_by(AuditEntry.id))).all()
    await engine.dispose()
    assert refused == [("mallory", "playbook.request"), ("bob", "playbook.request")]
    bad = environment(world, sqlite_url, WARDEN_PLAYBOOKS_BACKEND="devpi")
    code, _, err = await warden(bad, tmp_path, "restore", PROJECT, "--dry-run",
                                "--actor", "alice")
    assert code == 2 and "playbooks.devpi_url must be set" in err


def test_sections_come_from_the_environment_and_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env: None) -> None:
    from bot.config import load_settings

    monkeypatch.chdir(tmp_path)  # no ./config/warden.toml
    config = tmp_path / "warden.toml"
    config.write_text('[playbooks]\nbackend = "devpi"\ndevpi_url = "http://127.0.0.1:1"\n'
                      '[storage]\nkind = "s3"\ns3_bucket = "from-file"\n')
    monkeypatch.setenv("WARDEN_STORAGE_S3_BUCKET", "from-env")
    monkeypatch.setenv("WARDEN_PLAYBOOKS_APPROVAL_WAIVED", "restore, yank")
    defaults = load_settings(None)
    assert (defaults.playbooks, defaults.storage) == (
        PlaybooksSection(approval_waived=["restore", "yank"]),
        StorageSection(s3_bucket="from-env"))
    loaded = load_settings(config)
    playbooks, storage = loaded.playbooks, loaded.storage
    assert playbooks.backend == "devpi" and playbooks.devpi_url == "http://127.0.0.1:1"
    assert playbooks.approval_waived == ["restore", "yank"]
    assert storage.kind == "s3" and storage.s3_bucket == "from-env"
