"""config/slack-manifest.yml matches what the app serves and calls."""

from __future__ import annotations

import pytest

from bot.slack.app import EVENTS_PATH
from bot.slack.listeners.commands import SUBS
from tests.support import REPO

MANIFEST = REPO / "config" / "slack-manifest.yml"


def test_manifest_creates_the_app_this_code_serves() -> None:
    yaml = pytest.importorskip("yaml")
    app = yaml.safe_load(MANIFEST.read_text())
    [command] = app["features"]["slash_commands"]
    assert command["command"] == "/warden"
    assert all(f" {name}" in f" {command['usage_hint']}" for name in SUBS)
    settings = app["settings"]
    urls = [command["url"], settings["interactivity"]["request_url"],
            settings["event_subscriptions"]["request_url"]]
    assert all(url.endswith(EVENTS_PATH) for url in urls)
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert app["features"]["app_home"]["home_tab_enabled"] is True
    # chat.*, /warden, conversations.list and conversations.history/replies (public and private)
    assert set(app["oauth_config"]["scopes"]["bot"]) == {
        "chat:write", "commands", "channels:read", "groups:read", "channels:history",
        "groups:history"}
