"""Playbook buttons and the plan modal; Approve / Reject / Resume / Run on run messages."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import planning
from bot.slack.deps import deps_of
from bot.slack.render.modals import PlanState
from bot.slack.reply import Who

__all__ = ["register"]


async def on_playbook(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext,
                      client: AsyncWebClient) -> None:
    await ack()
    action = body["actions"][0]
    playbook = action["action_id"].partition(":")[2]
    deps_of(context).spawn(planning.open_for_incident(
        deps_of(context), client, Who.of(body), int(action["value"]), playbook), "plan-open")


async def on_plan_change(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext,
                         client: AsyncWebClient) -> None:
    await ack()
    deps_of(context).spawn(planning.replan(deps_of(context), client, body), "plan-change")


async def on_plan_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                            context: AsyncBoltContext, client: AsyncWebClient) -> None:
    reason = planning.typed_reason(view)
    if not reason:
        await ack(response_action="errors", errors={"reason": "A reason is required."})
        return
    await ack()
    state = PlanState.from_json(view["private_metadata"])
    who = Who.of(body).in_channel(state.channel)
    deps_of(context).spawn(planning.submit(deps_of(context), client, who, state, reason),
                           "plan-submit")


async def on_decision(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext,
                      client: AsyncWebClient) -> None:
    await ack()
    action = body["actions"][0]
    decision = action["action_id"].removeprefix("run_")
    deps_of(context).spawn(planning.decide(deps_of(context), client, Who.of(body),
                                           int(action["value"]), decision), "run-decision")


async def on_execute(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext,
                     client: AsyncWebClient) -> None:
    await ack()
    action = body["actions"][0]
    deps = deps_of(context)
    deps.spawn(planning.execute(deps, client, Who.of(body), int(action["value"]),
                                resume=action["action_id"] == "run_resume"), "run-execute")


def register(app: AsyncApp) -> None:
    app.action(re.compile(r"^inc_pb:[a-z-]+$"))(on_playbook)
    app.action("plan_target")(on_plan_change)
    app.action("plan_options")(on_plan_change)
    app.view("plan")(on_plan_submitted)
    app.action(re.compile(r"^run_(approve|reject)$"))(on_decision)
    app.action(re.compile(r"^run_(resume|start)$"))(on_execute)
