"""An escalation ("paged" on the timeline): the thread reply that mentions the on-call
people, and the message posted to the escalation channel."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.slack.render.common import SEVERITY_ICON, Rendered, clip, esc
from bot.store.models import Incident, TimelineEntry

__all__ = ["mentions", "page_message", "page_reply"]

_GROUP = re.compile(r"S[A-Z0-9]{2,30}")
_USER = re.compile(r"[UW][A-Z0-9]{2,30}")


def mentions(ids: Iterable[Any]) -> str:
    """User groups as ``<!subteam^S…>``, users as ``<@U…>``; anything else is dropped
    (the detail comes from the store: only well-formed IDs become mentions)."""
    out = []
    for item in ids:
        text = str(item)
        if _GROUP.fullmatch(text):
            out.append(f"<!subteam^{text}>")
        elif _USER.fullmatch(text):
            out.append(f"<@{text}>")
    return " ".join(out)


def page_reply(entry: TimelineEntry) -> str:
    d = entry.detail or {}
    who = mentions(d.get("mention") or [])
    return (f":mega: no acknowledgement after {esc(d.get('waited', ''))}: escalated"
            + (f" to {who}" if who else "")
            + (f" and {esc(d['channel'])}" if d.get("channel") else ""))


def page_message(incident: Incident, entry: TimelineEntry, link: str | None) -> Rendered:
    d = entry.detail or {}
    icon = SEVERITY_ICON.get(incident.severity, ":white_circle:")
    where = f" (<{link}|incident message>)" if link else ""
    text = (f"{icon} *Incident #{incident.id} has waited {esc(d.get('waited', ''))} without "
            f"an acknowledgement*{where}\n{esc(clip(incident.summary, 500))}")
    who = mentions(d.get("mention") or [])
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))]
    if who:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=who)]))
    return Rendered.of(f"Incident #{incident.id} waits for an admin", blocks)
