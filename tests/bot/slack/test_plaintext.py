"""Upstream text in Slack messages: no mention, link or markup smuggled in, and hidden
characters (bidi overrides, zero-width spaces, controls) shown as escapes (issue 14)."""

from __future__ import annotations

import json

from bot.types import Evidence, Finding, Severity
from tests.support.slack import Harness

HIDDEN = "\u202egnp.exe \u200b \x1b[2J"
SHOWN = "\\u202egnp.exe \\u200b \\x1b[2J"


async def test_an_incident_message_shows_hidden_characters_and_no_smuggled_links(
        slack: Harness) -> None:
    await slack.open_incident(Finding(
        detector="typosquat", kind="invisible-characters", subject=f"project:evil{HIDDEN}",
        severity=Severity.HIGH, summary=f"<!channel> <https://evil.example|click> {HIDDEN}",
        evidence=(Evidence(summary=HIDDEN, url="https://evil.example/x|click here>"),
                  Evidence(summary="fine", url="https://pypi.org/project/evil/")),
        playbooks=("quarantine",)))
    await slack.deliver()
    [message] = slack.api.top_level()
    sent = json.dumps({"text": message.text, "blocks": message.blocks}, ensure_ascii=False)
    assert not any(c in sent for c in "\u202e\u200b\x1b")
    assert sent.count(SHOWN.replace("\\", "\\\\")) >= 3  # header, summary, evidence (JSON-escaped)
    assert "<!channel>" not in sent and "<https://evil.example|click>" not in sent
    assert "evil.example/x" not in sent  # a URL that would end the link is left out
    assert "<https://pypi.org/project/evil/|link>" in sent
