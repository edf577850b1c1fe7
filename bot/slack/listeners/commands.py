"""`/warden`: incidents, show, ack, restore, yank, freeze, unverify, quarantine,
unquarantine, remove-malware, domain, typo, critical.

The arguments are checked before ack(), so a bad command gets its usage line straight
back (ephemeral); everything else is answered after the ack, privately.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents import ACTIVE, Status, get_incident, list_incidents
from bot.slack import lookups, planning
from bot.slack.deps import SlackDeps, deps_of
from bot.slack.listeners.incidents import status_work
from bot.slack.render.home import incident_list
from bot.slack.render.incident import incident_blocks
from bot.slack.reply import Who, tell
from bot.store.slack_models import SlackPost
from playbooks.base import Target

__all__ = ["HELP", "register"]

Work = Callable[[SlackDeps, AsyncWebClient, Who, list[str]], Coroutine[Any, Any, None]]


def _id(args: list[str]) -> str | None:
    return None if args[0].lstrip("#").isdigit() else f"`{args[0][:40]}` is not an incident number"


async def _incidents(deps: SlackDeps, client: AsyncWebClient, who: Who, args: list[str]) -> None:
    which = args[0].lower() if args else "open"
    async with deps.sessions() as s:
        found = await list_incidents(s, None if which == "all" else list(ACTIVE), limit=200)
    if which == "mine":
        found = [i for i in found if i.assignee == who.user]
    shown = incident_list(found, deps.clock(), f"{which.capitalize()} incidents")
    await tell(client, who, shown.text, shown.blocks)


async def _show(deps: SlackDeps, client: AsyncWebClient, who: Who, args: list[str]) -> None:
    incident_id = int(args[0].lstrip("#"))
    async with deps.sessions() as s:
        incident = await get_incident(s, incident_id)
        post = await s.get(SlackPost, f"incident:{incident_id}")
    if incident is None:
        await tell(client, who, f"There is no incident #{incident_id}.")
        return
    names = deps.door.playbooks if deps.playbooks_problem is None else {}
    blocks = [b.to_dict() for b in incident_blocks(incident, deps.options.index_url, names)]
    text = f"Incident #{incident_id}"
    if post is not None and post.ts:
        text += f": <https://slack.com/archives/{post.channel}/p{post.ts.replace('.', '')}|message>"
    await tell(client, who, text, blocks)


async def _ack(deps: SlackDeps, client: AsyncWebClient, who: Who, args: list[str]) -> None:
    incident_id = int(args[0].lstrip("#"))
    await status_work(deps, client, who, incident_id, Status.ACKNOWLEDGED, confirm=True)


def _respond(playbook: str, target: Callable[[list[str]], Target]) -> Work:
    async def work(deps: SlackDeps, client: AsyncWebClient, who: Who, args: list[str]) -> None:
        await planning.open_for_target(deps, client, who, playbook, target(args))
    return work


def _lookup(report: Callable[[SlackDeps, str], Awaitable[str]], usage: str) -> Work:
    async def work(deps: SlackDeps, client: AsyncWebClient, who: Who, args: list[str]) -> None:
        try:
            text = await report(deps, args[0])
        except lookups.BadInput as exc:
            text = f"{exc}\nUsage: `{usage}`"
        await tell(client, who, text)
    return work


@dataclass(frozen=True, slots=True)
class Sub:
    usage: str
    least: int
    most: int
    work: Work | None
    check: Callable[[list[str]], str | None] | None = None


SUBS: dict[str, Sub] = {
    "incidents": Sub("/warden incidents [open|mine|all]", 0, 1, _incidents,
                     lambda a: None if not a or a[0].lower() in ("open", "mine", "all")
                     else f"`{a[0][:40]}`: choose open, mine or all"),
    "show": Sub("/warden show ID", 1, 1, _show, _id),
    "ack": Sub("/warden ack ID", 1, 1, _ack, _id),
    "restore": Sub("/warden restore PROJECT [VERSION]", 1, 2, _respond(
        "restore", lambda a: Target(project=a[0], version=a[1] if len(a) > 1 else None))),
    "yank": Sub("/warden yank PROJECT VERSION", 2, 2, _respond(
        "yank", lambda a: Target(project=a[0], version=a[1]))),
    "freeze": Sub("/warden freeze USER", 1, 1, _respond("freeze", lambda a: Target(account=a[0]))),
    **{name: Sub(f"/warden {name} PROJECT [VERSION]", 1, 2, _respond(
        name, lambda a: Target(project=a[0], version=a[1] if len(a) > 1 else None)))
       for name in ("quarantine", "unquarantine", "remove-malware")},
    "not-malware": Sub("/warden not-malware PROJECT", 1, 1, _respond(
        "not-malware", lambda a: Target(project=a[0]))),
    "unverify": Sub("/warden unverify EMAIL", 1, 1, _respond(
        "unverify-email", lambda a: Target(email=a[0])),
        lambda a: None if "@" in a[0].strip("@") else f"`{a[0][:60]}` is not an email address"),
    "domain": Sub("/warden domain DOMAIN", 1, 1,
                  _lookup(lookups.domain_report, "/warden domain DOMAIN")),
    "typo": Sub("/warden typo NAME", 1, 1, _lookup(lookups.typo_report, "/warden typo NAME")),
    "critical": Sub("/warden critical NAME", 1, 1,
                    _lookup(lookups.critical_report, "/warden critical NAME")),
    "help": Sub("/warden help", 0, 0, None),
}
HELP = "*index-warden*\n" + "\n".join(f"`{sub.usage}`" for sub in SUBS.values())


def parse(text: str) -> tuple[Sub | None, list[str], str | None]:
    """(subcommand, arguments, problem) of the command text."""
    words = text.split()
    if not words:
        return SUBS["help"], [], None
    sub = SUBS.get(words[0].lower())
    if sub is None:
        return None, [], f"Unknown subcommand `{words[0][:40]}`."
    args = words[1:]
    if not sub.least <= len(args) <= sub.most:
        return sub, args, f"Usage: `{sub.usage}`"
    problem = sub.check(args) if sub.check else None
    return sub, args, f"{problem}\nUsage: `{sub.usage}`" if problem else None


async def on_warden(ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext,
                    client: AsyncWebClient) -> None:
    sub, args, problem = parse(str(command.get("text") or ""))
    if problem or sub is None or sub.work is None:
        text = f"{problem}\n{HELP}" if sub is None else (problem or HELP)
        await ack(text=text, response_type="ephemeral")
        return
    await ack()
    deps = deps_of(context)
    deps.spawn(sub.work(deps, client, Who.of(command), args), f"command-{sub.usage.split()[1]}")


def register(app: AsyncApp) -> None:
    app.command("/warden")(on_warden)
