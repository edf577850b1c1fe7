"""App Home (open incidents by severity, with age and assignee) and incident lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack.render.common import SEVERITY_ICON, Rendered, age, clip, esc, who
from bot.slack.render.incident import title_of
from bot.store.models import Incident

__all__ = ["SEVERITIES", "home_view", "incident_line", "incident_list"]

SEVERITIES = ("critical", "high", "warning", "info")
MAX_HOME = 40  # App Home holds 100 blocks: a header per severity plus one per incident
MAX_LISTED = 40


def incident_line(incident: Incident, now: datetime) -> str:
    assignee = who(incident.assignee) if incident.assignee else "unassigned"
    return (f"*#{incident.id}* {esc(title_of(incident))} · {esc(incident.status.replace('_', ' '))}"
            f" · {age(incident.created_at, now)} old · {assignee}")


def home_view(incidents: Sequence[Incident], now: datetime, *, admin: bool) -> dict[str, Any]:
    blocks: list[Block] = [HeaderBlock(text="index-warden: open incidents")]
    if not admin:
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text="Only the admins listed in `access.admins` can see and act on incidents.")))
        return View(type="home", blocks=blocks).to_dict()
    blocks.append(ActionsBlock(block_id="home", elements=[
        ButtonElement(text="Refresh", action_id="home_refresh", value="refresh")]))
    shown = list(incidents)[:MAX_HOME]
    for severity in SEVERITIES:
        group = [i for i in shown if i.severity == severity]
        if not group:
            continue
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text=f"{SEVERITY_ICON[severity]} *{severity.capitalize()}* ({len(group)})")))
        for incident in group:
            blocks.append(SectionBlock(
                text=MarkdownTextObject(text=clip(incident_line(incident, now), 3000)),
                accessory=ButtonElement(text="Show", action_id="home_show",
                                        value=str(incident.id))))
        blocks.append(DividerBlock())
    if not shown:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=":white_check_mark: nothing open")))
    if len(incidents) > len(shown):
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"{len(incidents) - len(shown)} more: `/warden incidents open`")]))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=f"updated {now:%Y-%m-%d %H:%M} UTC")]))
    return View(type="home", blocks=blocks).to_dict()


def incident_list(incidents: Sequence[Incident], now: datetime, title: str) -> Rendered:
    """An ephemeral list for `/warden incidents`."""
    if not incidents:
        return Rendered.of(f"{title}: none", [SectionBlock(
            text=MarkdownTextObject(text=f"*{esc(title)}*: none"))])
    lines = [f"{SEVERITY_ICON.get(i.severity, '')} {incident_line(i, now)}"
             for i in list(incidents)[:MAX_LISTED]]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"*{esc(title)}*"))]
    for start in range(0, len(lines), 10):  # a section holds 3000 characters
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text=clip("\n".join(lines[start:start + 10]), 3000))))
    if len(incidents) > MAX_LISTED:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"showing {MAX_LISTED} of {len(incidents)}; `/warden show ID` for one")]))
    return Rendered.of(f"{title}: {len(incidents)}", blocks)
