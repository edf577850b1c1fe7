"""The incident message (updated in place) and the replies of its timeline thread."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.incidents import Status
from bot.plaintext import reveal
from bot.slack.render.common import (
    PLAYBOOK_LABELS,
    SEVERITY_ICON,
    Rendered,
    clip,
    esc,
    subject_links,
    who,
)
from bot.slack.render.page import page_reply
from bot.slack.targets import actionable
from bot.store.models import Incident, TimelineEntry

__all__ = ["incident_blocks", "incident_message", "timeline_reply", "title_of"]

MAX_EVIDENCE = 5
_TITLES = {
    "project-removed": "Critical project removed", "release-removed": "Release removed",
    "file-removed": "File removed", "release-yanked": "Release yanked",
    "ownership-change": "Ownership change", "takeover-chain": "Possible account takeover",
    "quarantined": "Project quarantined", "typosquat": "Possible typosquat",
}


def title_of(incident: Incident) -> str:
    kind = _TITLES.get(incident.kind) or incident.kind.replace("-", " ").capitalize()
    # A plain_text header: no mrkdwn to escape, but a bidi override would reorder it.
    return reveal(f"{kind}: {incident.subject.partition(':')[2] or incident.subject}")


def _evidence(items: list[Any]) -> str:
    lines = []
    for item in items[-MAX_EVIDENCE:]:
        if not isinstance(item, dict):
            continue
        line = "• " + esc(clip(str(item.get("summary") or ""), 400))
        url = item.get("url")
        # `<`, `>` or `|` in a URL would end the link and start text (or a link) of its own.
        if (isinstance(url, str) and url.startswith(("http://", "https://"))
                and not any(c in url for c in "<>| ")):
            line += f" (<{url}|link>)"
        lines.append(line)
    return "\n".join(lines) or "_no evidence recorded_"


def _buttons(incident: Incident, playbooks: Collection[str]) -> list[ButtonElement]:
    value = str(incident.id)
    status = Status(incident.status)
    buttons = []
    if status is Status.OPEN:
        buttons.append(ButtonElement(text="Acknowledge", action_id="inc_ack", value=value,
                                     style="primary"))
    buttons.append(ButtonElement(text="Assign to me", action_id="inc_assign", value=value))
    for name in actionable(list(incident.playbooks), incident.subject, incident.evidence):
        if name in playbooks and name in PLAYBOOK_LABELS:
            buttons.append(ButtonElement(text=PLAYBOOK_LABELS[name], action_id=f"inc_pb:{name}",
                                         value=value))
    buttons.append(ButtonElement(text="False positive", action_id="inc_fp", value=value))
    buttons.append(ButtonElement(
        text="Resolve", action_id="inc_resolve", value=value,
        confirm=ConfirmObject(title="Resolve this incident?", confirm="Resolve", deny="Cancel",
                              text=f"Incident #{incident.id} will be closed.")))
    return buttons


def incident_blocks(incident: Incident, index_url: str, playbooks: Collection[str],
                    *, buttons: bool = True) -> list[Block]:
    icon = SEVERITY_ICON.get(incident.severity, ":white_circle:")
    closed = Status(incident.status).closed
    fields = [
        MarkdownTextObject(text=f"*Subject*\n{subject_links(incident.subject, index_url)}"),
        MarkdownTextObject(text=f"*Status*\n{esc(incident.status.replace('_', ' '))}"),
        MarkdownTextObject(text=f"*Severity*\n{esc(incident.severity)}"),
        MarkdownTextObject(text=f"*Assignee*\n{who(incident.assignee) if incident.assignee else '—'}"),
    ]
    blocks: list[Block] = [
        HeaderBlock(text=clip(f"{icon} {title_of(incident)}", 150)),
        SectionBlock(text=MarkdownTextObject(text=clip(esc(incident.summary), 3000))),
        SectionBlock(fields=fields),
        SectionBlock(text=MarkdownTextObject(
            text=clip("*Evidence*\n" + _evidence(incident.evidence), 3000))),
    ]
    if buttons and not closed:
        blocks.append(ActionsBlock(block_id=f"incident:{incident.id}",
                                   elements=_buttons(incident, playbooks)))
    blocks.append(DividerBlock())
    seen = f" · seen {incident.occurrences} times" if incident.occurrences > 1 else ""
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=esc(
        f"incident #{incident.id} · {incident.detector}/{incident.kind} · opened "
        f"{incident.created_at:%Y-%m-%d %H:%M} UTC{seen}"))]))
    return blocks


def incident_message(incident: Incident, index_url: str, playbooks: Collection[str]) -> Rendered:
    text = esc(f"[{incident.severity.upper()}] #{incident.id} {title_of(incident)} "
               f"({incident.status.replace('_', ' ')})")
    return Rendered.of(text, incident_blocks(incident, index_url, playbooks))


def _describe(entry: TimelineEntry) -> str:
    d, actor = entry.detail or {}, who(entry.actor)
    note = f": {esc(d['note'])}" if d.get("note") else ""
    match entry.action:
        case "opened":
            return f":rotating_light: opened by {actor} ({esc(d.get('severity', ''))})"
        case "status":
            previous, status = (str(d.get(k, "")).replace("_", " ") for k in ("previous", "status"))
            return f"{actor} changed the status {esc(previous)} → *{esc(status)}*{note}"
        case "assigned":
            return f"{actor} assigned the incident to {who(d.get('assignee'))}"
        case "repeated":
            return f"seen again: {esc(clip(str(d.get('summary', '')), 500))}"
        case "escalated":
            return (f":arrow_double_up: escalated {esc(d.get('previous'))} → "
                    f"*{esc(d.get('severity'))}*: {esc(clip(str(d.get('summary', '')), 500))}")
        case "reminded":
            waited = f" after {esc(d['waited'])}" if d.get("waited") else ""
            return f":alarm_clock: still open and nobody has acknowledged it{waited}"
        case "paged":
            return page_reply(entry)
        case "playbook":
            return (f"{actor}: playbook *{esc(d.get('playbook'))}* run #{esc(d.get('run_id'))} "
                    f"— {esc(d.get('event', d.get('status', '')))}")
    return f"{actor}: {esc(entry.action)} {esc(clip(str(d), 300)) if d else ''}".rstrip()


def timeline_reply(entry: TimelineEntry) -> Rendered:
    line = _describe(entry)
    context = f"{entry.at:%Y-%m-%d %H:%M:%S} UTC"
    return Rendered.of(line, [SectionBlock(text=MarkdownTextObject(text=clip(line, 3000))),
                              ContextBlock(elements=[MarkdownTextObject(text=context)])])
