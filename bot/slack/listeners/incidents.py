"""Incident buttons: Acknowledge, Assign to me, Resolve, False positive (modal)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ActionError, typosquat_pair
from bot.incidents import Status
from bot.slack.deps import SlackDeps, deps_of
from bot.slack.render.modals import fp_modal
from bot.slack.reply import Who, tell
from bot.store.models import Incident

__all__ = ["register"]

_STATUS = {"inc_ack": Status.ACKNOWLEDGED, "inc_resolve": Status.RESOLVED}


def _incident_id(body: dict[str, Any]) -> int:
    return int(body["actions"][0]["value"])


async def status_work(deps: SlackDeps, client: AsyncWebClient, who: Who, incident_id: int,
                      to: Status, note: str | None = None, *, confirm: bool = False) -> None:
    """Change the status; refusals are told privately (a click's success shows in the
    message itself, a command's is confirmed when `confirm`)."""
    try:
        extra = await deps.door.change_status(incident_id, to, who.user, note, via="slack")
    except ActionError as exc:
        await tell(client, who, f"Incident #{incident_id}: {exc}")
        return
    if extra.get("allowlisted"):
        await tell(client, who, f"Incident #{incident_id} closed as a false positive; "
                                f"{extra['candidate']} is allowlisted for {extra['protected']}.")
    elif confirm:
        await tell(client, who, f"Incident #{incident_id} is now {to.value.replace('_', ' ')}.")


async def assign_work(deps: SlackDeps, client: AsyncWebClient, who: Who, incident_id: int) -> None:
    try:
        await deps.door.assign(incident_id, who.user, who.user, via="slack")
    except ActionError as exc:
        await tell(client, who, f"Incident #{incident_id}: {exc}")


async def on_status(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext,
                    client: AsyncWebClient) -> None:
    await ack()
    to = _STATUS[body["actions"][0]["action_id"]]
    deps_of(context).spawn(status_work(deps_of(context), client, Who.of(body),
                                       _incident_id(body), to), "incident-status")


async def on_assign(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext,
                    client: AsyncWebClient) -> None:
    await ack()
    deps_of(context).spawn(assign_work(deps_of(context), client, Who.of(body),
                                       _incident_id(body)), "incident-assign")


async def open_fp(deps: SlackDeps, client: AsyncWebClient, who: Who, incident_id: int) -> None:
    async with deps.sessions() as s:
        incident = await s.get(Incident, incident_id)
    if incident is None or not who.trigger_id:
        await tell(client, who, f"There is no incident #{incident_id}.")
        return
    await client.views_open(trigger_id=who.trigger_id, view=fp_modal(
        incident_id, incident.summary, who.channel, typosquat_pair(incident)))


async def on_false_positive(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext,
                            client: AsyncWebClient) -> None:
    await ack()
    deps_of(context).spawn(open_fp(deps_of(context), client, Who.of(body), _incident_id(body)),
                           "fp-modal")


async def on_fp_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                          context: AsyncBoltContext, client: AsyncWebClient) -> None:
    reason = str(view["state"]["values"]["reason"]["reason"].get("value") or "").strip()
    if not reason:
        await ack(response_action="errors", errors={"reason": "Say why (it goes to the audit log)."})
        return
    await ack()
    meta = json.loads(view["private_metadata"])
    who = Who.of(body).in_channel(meta.get("channel"))
    deps_of(context).spawn(status_work(deps_of(context), client, who, int(meta["incident_id"]),
                                       Status.FALSE_POSITIVE, reason), "incident-fp")


def register(app: AsyncApp) -> None:
    app.action("inc_ack")(on_status)
    app.action("inc_resolve")(on_status)
    app.action("inc_assign")(on_assign)
    app.action("inc_fp")(on_false_positive)
    app.view("false_positive")(on_fp_submitted)
