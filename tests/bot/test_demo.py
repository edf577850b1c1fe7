"""`warden demo --json` as a user runs it: every scenario reaches its verified end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.service]


def test_demo_json_every_scenario_verified(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WARDEN_", "SLACK_"))}
    done = subprocess.run([sys.executable, "-m", "bot", "demo", "--json"], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    summary = json.loads(done.stdout)
    names = [s["name"] for s in summary["scenarios"]]
    assert names == ["domain-resurrection", "critical-deletion", "typosquat",
                     "dependency-confusion", "malware-report"]
    for scenario in summary["scenarios"]:
        assert set(scenario) == {"name", "incident_id", "severity", "playbook", "verified",
                                 "seconds"}
        assert scenario["verified"] is True and isinstance(scenario["incident_id"], int)
        assert scenario["seconds"] < 60
    assert {s["name"]: s["playbook"] for s in summary["scenarios"]} == {
        "domain-resurrection": "freeze", "critical-deletion": "restore",
        "typosquat": "quarantine", "dependency-confusion": "quarantine",
        "malware-report": "remove-malware"}
    assert summary["scenarios"][1]["severity"] == "critical"
    assert summary["scenarios"][3]["severity"] == "critical"
    assert summary["scenarios"][4]["severity"] == "critical"


def test_demo_rejects_an_unknown_scenario(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "demo", "--scenario", "nope"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "unknown scenario" in done.stderr
