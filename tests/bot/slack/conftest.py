"""Fixtures of the Slack tests: the app running against the local Slack Web API server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.slack import Harness, running


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
