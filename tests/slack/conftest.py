"""Fixtures of the Slack tests: the app running against the local Slack Web API server."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# The playbook tests' world (a removed critical project on the index double) is reused by
# the Slack playbook tests; its helpers live beside those tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "playbooks"))

from slack_harness import Harness, running


@pytest.fixture
async def slack(sqlite_url: str, no_env: None,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    """Slack mounted on the bot's web app, store on SQLite, no playbook backends."""
    async with running(sqlite_url, monkeypatch) as harness:
        yield harness


@pytest.fixture
async def slack_any_store(store_url: str, no_env: None,
                          monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    """The same on SQLite and on PostgreSQL."""
    async with running(store_url, monkeypatch) as harness:
        yield harness
