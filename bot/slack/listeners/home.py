"""App Home: open incidents by severity with their age and assignee."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents import Status, get_incident, list_incidents
from bot.slack.deps import SlackDeps, deps_of
from bot.slack.render.home import home_view
from bot.slack.render.incident import incident_blocks
from bot.slack.reply import Who, tell

__all__ = ["publish_home", "register"]

OPEN = [Status.OPEN, Status.ACKNOWLEDGED, Status.MITIGATED]


async def publish_home(deps: SlackDeps, client: AsyncWebClient, user: str) -> None:
    admin = user in deps.options.admins
    incidents = []
    if admin:
        async with deps.sessions() as s:
            incidents = await list_incidents(s, OPEN, limit=500)
    await client.views_publish(user_id=user, view=home_view(incidents, deps.clock(), admin=admin))


async def on_home_opened(event: dict[str, Any], context: AsyncBoltContext,
                         client: AsyncWebClient) -> None:
    if event.get("tab", "home") == "home":  # events are acked by bolt before this runs
        deps_of(context).spawn(publish_home(deps_of(context), client, str(event["user"])), "home")


async def on_refresh(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext,
                     client: AsyncWebClient) -> None:
    await ack()
    deps_of(context).spawn(publish_home(deps_of(context), client, Who.of(body).user), "home")


async def show_incident(deps: SlackDeps, client: AsyncWebClient, who: Who,
                        incident_id: int) -> None:
    async with deps.sessions() as s:
        incident = await get_incident(s, incident_id)
    if incident is None or not who.trigger_id:
        await tell(client, who, f"There is no incident #{incident_id}.")
        return
    names = deps.door.playbooks if deps.playbooks_problem is None else {}
    blocks = incident_blocks(incident, deps.options.index_url, names)
    await client.views_open(trigger_id=who.trigger_id, view=View(
        type="modal", title=f"Incident #{incident_id}", close="Close", blocks=blocks).to_dict())


async def on_show(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext,
                  client: AsyncWebClient) -> None:
    await ack()
    incident_id = int(body["actions"][0]["value"])
    deps_of(context).spawn(show_incident(deps_of(context), client, Who.of(body), incident_id),
                           "home-show")


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(on_home_opened)
    app.action("home_refresh")(on_refresh)
    app.action("home_show")(on_show)
