"""Dependency confusion end to end: the devpi feed learns the internal names from a real
devpi-server; a public project created on the index double with one of them (or a
look-alike) raises a critical incident within one PyPI feed poll, naming the internal
package, its owners and the devpi indexes that would serve PyPI's files; `warden
confusion scan` finds squats that already exist."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings, load_settings
from bot.feed.devpi_open import open_devpi
from bot.names import LikenessIndex, likeness
from bot.store.models import Incident
from bot.wiring import Warden
from playbooks.index_admin.devpi_local import LocalDevpi
from tests.support.devpi_primary import upload
from tests.support.indexdouble import IndexDouble

pytestmark = pytest.mark.slow


def settings_for(store_url: str, index_url: str, devpi: LocalDevpi, key: bytes,
                 blobs: Path) -> Settings:
    return load_settings(
        store={"url": store_url},
        index={"url": index_url, "backoff_seconds": 0.05, "max_retries": 2,
               "timeout_seconds": 10},
        feed={"start_serial": 0}, critical={"top": "0"}, notify={"console": False},
        storage={"kind": "filesystem", "root": str(blobs)},
        devpi={"url": devpi.url, "indexes": ["acme/internal"], "replica_key": key.hex()})


def private_world(devpi: LocalDevpi) -> None:
    """acme/internal holds acme-utils; acme/build inherits it and PyPI (shielded by
    devpi's private-first rule); acme/open whitelists the name (PyPI's files served)."""
    devpi.new_user("acme", "acme-pw", "ci@acme.example")
    devpi.new_user("bob", "bob-pw", "bob@acme.example")
    status, _ = devpi.call("PUT", "/root/pypi", {"type": "mirror",
                                                 "mirror_url": "http://127.0.0.1:9/simple/"})
    assert status in (200, 201)
    devpi.new_index("acme", "internal", uploaders=["acme", "bob"])
    for name, whitelist in (("build", []), ("open", ["acme-utils"])):
        status, _ = devpi.call("PUT", f"/acme/{name}", {
            "type": "stage", "bases": ["acme/internal", "root/pypi"], "volatile": False,
            "mirror_whitelist": whitelist})
        assert status in (200, 201), (name, status)


async def follow_devpi(settings: Settings, warden: Warden) -> None:
    """One pass of the devpi feed, as `warden devpi sync` makes it."""
    follower = await open_devpi(settings, warden.sessions, warden.pipeline.notifiers)
    try:
        await follower.sync.sync()
    finally:
        await follower.close()


async def incidents(warden: Warden) -> list[Incident]:
    async with warden.sessions() as session:
        return list((await session.execute(
            select(Incident).where(Incident.detector == "confusion")
            .order_by(Incident.id))).scalars())


async def test_public_project_with_an_internal_name_is_critical_within_one_poll(
        devpi_primary: tuple[LocalDevpi, bytes], index_double: IndexDouble, store_url: str,
        tmp_path: Path) -> None:
    devpi, key = devpi_primary
    private_world(devpi)
    await upload(devpi, "acme/internal", "acme", "acme-pw", "acme-utils", "1.0")
    settings = settings_for(store_url, index_double.url, devpi, key, tmp_path / "blobs")
    warden = await Warden.open(settings)
    try:
        await follow_devpi(settings, warden)
        await warden.feed.sync()  # the first poll: nothing public yet
        assert await incidents(warden) == []
        index_double.store.create_project("Acme_Utils", "attacker")
        index_double.store.create_project("acme-uti1s", "attacker")
        index_double.store.create_project("requests", "someone")
        await warden.feed.sync()  # one poll
        found = await incidents(warden)
    finally:
        await warden.close()
    by_subject = {i.subject: i for i in found}
    assert set(by_subject) == {"project:acme-utils", "project:acme-uti1s"}
    same = by_subject["project:acme-utils"]
    assert same.severity == "critical" and same.kind == "dependency-confusion"
    assert "internal package acme-utils" in same.summary
    assert "owners acme, bob" in same.summary
    # devpi shields acme/build (private-first), serves PyPI's files on acme/open.
    assert "would serve it: acme/open" in same.summary
    served = {e["data"]["index"]: e["data"]["served"] for e in same.evidence
              if "served" in e.get("data", {})}
    assert served == {"acme/build": False, "acme/open": True}
    squat = by_subject["project:acme-uti1s"]
    assert "imitates (homoglyph)" in squat.summary and squat.severity == "critical"


async def test_scan_finds_squats_that_already_exist(
        devpi_primary: tuple[LocalDevpi, bytes], index_double: IndexDouble, sqlite_url: str,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    devpi, key = devpi_primary
    private_world(devpi)
    await upload(devpi, "acme/internal", "acme", "acme-pw", "acme-billing", "2.0")
    for name in ("acme-biling", "numpy", "python-acme-billing", "six"):
        index_double.store.create_project(name, "someone")
    settings = settings_for(sqlite_url, index_double.url, devpi, key, tmp_path / "blobs")
    warden = await Warden.open(settings)
    try:
        await follow_devpi(settings, warden)
    finally:
        await warden.close()
    config = tmp_path / "warden.toml"
    config.write_text(f'[store]\nurl = "{sqlite_url}"\n[notify]\nconsole = false\n'
                      f'[devpi]\nurl = "{devpi.url}"\nindexes = ["acme/internal"]\n')
    monkeypatch.setenv("WARDEN_DEVPI_REPLICA_KEY", key.hex())
    # In a thread: this loop serves the index double while the command runs its own.
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["confusion", "scan", "--config", str(config),
                                  "--index-url", index_double.url, "--jsonl"])
    assert result.exit_code == 1, result.output
    lines = sorted(result.stdout.strip().splitlines())
    assert len(lines) == 2, result.output
    assert '"name": "acme-biling"' in lines[0] and '"technique": "one-edit"' in lines[0]
    assert '"name": "python-acme-billing"' in lines[1] and '"technique": "affix"' in lines[1]
    assert '"owners": ["acme", "bob"]' in lines[0]


@pytest.mark.parametrize(("candidate", "target", "technique"), [
    ("acme_utils", "acme-utils", "same-name"), ("acmeutils", "acme-utils", "separator"),
    ("acme-uti1s", "acme-utils", "homoglyph"), ("acme-utils-py", "acme-utils", "affix"),
    ("acme-utlis", "acme-utils", "one-edit"), ("acme-util", "acme-utils", "one-edit"),
    ("requests", "acme-utils", None), ("abd", "abc", None),
])
def test_likeness_and_its_index_agree(candidate: str, target: str, technique: str | None
                                      ) -> None:
    assert likeness(candidate, target) == technique
    expected = [(target, technique)] if technique else []
    assert LikenessIndex([target, "unrelated-name"]).matches(candidate) == expected
