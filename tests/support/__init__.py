"""What tests in several areas share: the index double's fixtures, the Slack harness, the
playbooks' world, Warehouse's real schema, and `warden` run as a process."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the checkout: PYTHONPATH of child processes
