"""A new admin's first hour (issue 17), following only the README: the shell block under
"Your first hour" is read from README.md and each command run as its own process, in a
directory of its own — the index double with a project in it, feed sync, the incidents,
the restore (the earlier-removed release stays removed), the second admin's approval,
triage from the CLI — then one misconfiguration and its message. If the README's
commands stop working, this test fails."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = [pytest.mark.service, pytest.mark.slow]

README_PORT = "8765"


def readme_walk() -> list[str]:
    """The logical command lines of the README's first-hour block (continuations joined,
    comment lines dropped)."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Your first hour", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.replace("\\\n", " ").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _run(line: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], env=env, cwd=cwd, input="y\n", text=True,
                          capture_output=True, timeout=120)


def test_the_readme_first_hour_works(tmp_path: Path) -> None:
    started = time.monotonic()
    port = _free_port()
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
           "HOME": str(tmp_path), "PYTHONPATH": str(REPO), "COLUMNS": "300", "LANG": "C.UTF-8"}
    walk = [line.replace(README_PORT, port) for line in readme_walk()]
    assert walk[0].startswith("python -m bot.indexdouble serve") and walk[0].endswith("&")
    server = subprocess.Popen(["bash", "-c", "exec " + walk[0].rstrip("& ").split("#")[0]],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == f"READY http://127.0.0.1:{port}"
        outputs: dict[str, str] = {}
        for line in walk[1:]:
            if line.startswith("export "):
                # The README's exports, applied to the environment of the next commands.
                done = _run(f"{line}; env -0", env, tmp_path)
                assert done.returncode == 0, done.stderr
                env = dict(item.split("=", 1) for item in done.stdout.split("\0") if "=" in item)
                continue
            done = _run(line, env, tmp_path)
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr, (line, done.stderr)
            outputs[line] = outputs.get(line, "") + done.stdout + done.stderr

        def said(prefix: str) -> str:
            found = [out for cmd, out in outputs.items() if cmd.startswith(prefix)]
            assert found, f"the README no longer runs {prefix!r}"
            return "\n".join(found)

        assert "stored " in said("warden feed sync --from-serial 1")
        listed = said("warden incidents list")
        assert re.search(r"^ *2 +critical +open +project:demo-project ", listed, re.M), listed
        assert re.search(r"^ *1 +high +open +project:demo-project@1\.0 ", listed, re.M), listed
        plan = said("warden restore demo-project --incident 2 --dry-run")
        assert "restores: demo-project as it was just before changelog serial" in plan
        assert "create release demo-project 1.1" in plan
        assert "release 1.0 stays removed" in plan and "1.0.tar.gz" not in plan
        assert "awaits approval" in said("warden restore demo-project --incident 2 --yes")
        approved = said("warden playbook approve 1 --actor bob")
        assert "Approve and run this change?" in approved and "done" in approved
        assert re.search(r"^ *2 +critical +mitigated ", listed, re.M), listed
        assert "incident #1 acknowledged" in said("warden incidents ack 1")
        assert "incident #1 resolved" in said("warden incidents resolve 1")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/pypi/demo-project/json") as r:
            assert sorted(json.load(r)["releases"]) == ["1.1"]

        # One misconfiguration: the store in a directory that does not exist.
        wrong = {**env, "WARDEN_STORE_URL": f"sqlite+aiosqlite:///{tmp_path}/nowhere/w.db"}
        done = _run("warden incidents list", wrong, tmp_path)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith("error: the store's SQLite file"), done.stderr
        assert "store.url / WARDEN_STORE_URL" in done.stderr
        assert not (tmp_path / "nowhere").exists()
    finally:
        server.terminate()
        server.wait(timeout=10)
    # 12 processes: measured 102 s on the shared 2-core machine at a load average of 8.
    assert time.monotonic() - started < 180
