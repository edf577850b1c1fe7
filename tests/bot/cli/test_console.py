"""What the console says is what happens (issue 17, item 7): a plan's "N change(s)" is
the number of steps it lists, sizes read as people read them (12.3 kB, never 0.0 MB),
UPDATE lines say what changed (old -> new), `playbook show` prints the verification's
checks, and `playbook approve` shows the approver the plan and asks before it applies."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from bot.units import human_size
from tests.bot.cli.test_playbooks import environment
from tests.support import REPO
from tests.support.cli import warden
from tests.support.world import PROJECT, World, index_rows


@pytest.mark.parametrize(("size", "shown"), [
    (0, "0 B"), (580, "580 B"), (999, "999 B"), (1000, "1.0 kB"), (12_345, "12.3 kB"),
    (52_800, "52.8 kB"), (999_960, "1.0 MB"), (1_354_000, "1.4 MB"),
    (3_200_000_000, "3.2 GB")])
def test_human_size(size: int, shown: str) -> None:
    assert human_size(size) == shown


def _plans(text: str) -> list[tuple[int, int]]:
    """(stated count, numbered lines listed under it) for each plan in `text`."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        stated = re.fullmatch(r" *(\d+) change\(s\):", line)
        if stated is None:
            continue
        listed = 0
        while i + 1 + listed < len(lines) and re.match(r" +\d+\. ", lines[i + 1 + listed]):
            listed += 1
        found.append((int(stated.group(1)), listed))
    return found


@pytest.mark.slow
async def test_demo_restore_plan_counts_sizes_and_update_lines(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "COLUMNS": "400",
           "HOME": str(tmp_path)}
    code, out, err = await warden(env, tmp_path, "demo", "--scenario", "critical-deletion")
    assert code == 0, (out, err)
    plans = _plans(out)
    assert plans and all(stated == listed for stated, listed in plans), (plans, out)
    assert plans[0][0] >= 10  # every step of the restore is listed, none cut off
    assert " MB" not in out and re.search(r"\(\d+\.\d kB\) to 1\.3\.0", out), out
    assert re.search(r"6 file\(s\), \d+\.\d kB, last upload", out), out
    update = [line for line in out.splitlines() if " UPDATE incident #" in line]
    assert update and all(re.search(r"\] \S.* -> \S", line) for line in update), update
    assert any("status open -> mitigated by alice:" in line for line in update), update


async def _approve(env: dict[str, str], cwd: Path, answer: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "playbook", "approve", "1", "--actor", "bob", env=env,
        cwd=cwd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(answer.encode())
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.service
@pytest.mark.slow
async def test_approve_shows_the_plan_and_asks_then_show_lists_the_checks(
        world: World, sqlite_url: str, tmp_path: Path) -> None:
    env = environment(world, sqlite_url)
    code, out, err = await warden(env, tmp_path, "restore", PROJECT, "--yes", "--actor", "alice")
    assert code == 0 and "awaits approval" in out, err
    before = index_rows(world)

    code, out, err = await _approve(env, tmp_path, "n\n")
    assert code == 1 and "not approved; nothing changed" in err, (out, err)
    assert f"create project {PROJECT}" in out and "10 change(s):" in out
    assert "Approve and run this change?" in err
    assert index_rows(world) == before
    code, out, _ = await warden(env, tmp_path, "playbook", "show", "1")
    assert "awaiting_approval" in out and "approvals: -" in out

    code, out, err = await _approve(env, tmp_path, "y\n")
    assert code == 0, (out, err)
    assert f"create project {PROJECT}" in out.split("run #1 restore")[1]  # shown before
    assert len(index_rows(world)["files"]) == len(world.files)

    code, out, err = await warden(env, tmp_path, "playbook", "show", "1")
    assert code == 0, err
    checks = [line.strip() for line in out.splitlines() if line.strip().startswith("verify ")]
    assert f"verify ok: project {PROJECT} exists" in checks
    served = [c for c in checks if "served with the ledger's sha256 and blake2b_256" in c]
    assert len(served) == len(world.files) and all(c.startswith("verify ok:") for c in served)
    assert len(checks) == 1 + 3 + len(world.files)  # project, releases, files
