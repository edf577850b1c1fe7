"""Shared pieces of the Block Kit payloads: escaping, links, people, severities."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from slack_sdk.models.blocks import Block

from bot.plaintext import reveal

__all__ = [
    "PLAYBOOK_LABELS",
    "SEVERITY_ICON",
    "Rendered",
    "age",
    "clip",
    "esc",
    "subject_links",
    "who",
]

SEVERITY_ICON = {"critical": ":red_circle:", "high": ":large_orange_circle:",
                 "warning": ":large_yellow_circle:", "info": ":large_blue_circle:"}
PLAYBOOK_LABELS = {
    "restore": "Restore", "yank": "Yank", "unyank": "Unyank", "freeze": "Freeze account",
    "unfreeze": "Unfreeze account", "unverify-email": "Unverify email",
    "quarantine": "Quarantine", "unquarantine": "Unquarantine",
    "remove-malware": "Remove as malware", "not-malware": "Not malware",
}
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message: the notification text and its blocks (validated dicts)."""

    text: str
    blocks: list[dict[str, Any]]

    @classmethod
    def of(cls, text: str, blocks: Sequence[Block]) -> Rendered:
        return cls(clip(text, 3000), [b.to_dict() for b in blocks])

    @property
    def digest(self) -> str:
        data = json.dumps({"text": self.text, "blocks": self.blocks}, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()


def esc(text: object) -> str:
    """Text made inert for mrkdwn (no mentions, links or markup smuggled in), its hidden
    characters (bidi overrides, zero-width spaces, controls) shown as escapes."""
    shown = reveal(str(text), newlines=True)
    return shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def who(actor: str | None) -> str:
    """A Slack user ID as a mention, anything else (CLI login, "warden") as text."""
    if not actor:
        return "nobody"
    if _SLACK_USER.match(actor):
        return f"<@{actor}>"
    return "index-warden" if actor == "warden" else esc(actor)


def _link(url: str, label: str) -> str:
    return f"<{url}|{esc(label)}>"


def subject_links(subject: str, index_url: str) -> str:
    """The subject with links to the index and its admin pages."""
    kind, _, name = subject.partition(":")
    base = index_url.rstrip("/")
    if kind == "project":
        project, _, version = name.partition("@")
        page = f"{base}/project/{quote(project)}/" + (f"{quote(version)}/" if version else "")
        return (f"project {_link(page, name)} · "
                f"{_link(f'{base}/admin/projects/{quote(project)}/', 'admin')}")
    if kind == "account":
        return (f"account {_link(f'{base}/user/{quote(name)}/', name)} · "
                f"{_link(f'{base}/admin/users/?q={quote(name)}', 'admin')}")
    if kind == "email":
        return f"email {esc(name)} · {_link(f'{base}/admin/users/?q={quote(name)}', 'admin')}"
    if kind == "domain":
        return (f"domain {esc(name)} · "
                f"{_link(f'https://lookup.icann.org/en/lookup?name={quote(name)}', 'registration')}"
                f" · {_link(f'{base}/admin/users/?q={quote(name)}', 'admin')}")
    return esc(subject)


def age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
