"""The playbook flow behind the buttons and slash commands (runs after ack()).

button or `/warden restore …` → a modal opens at once ("working out the plan") and is
replaced by the plan of the chosen target → submit with a reason → `Actions.request`:
a destructive run waits for a second admin (its message in the thread carries Approve /
Reject), any other runs now → progress and result land in the run message.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ActionError
from bot.slack.deps import SlackDeps, request_sync
from bot.slack.render.common import PLAYBOOK_LABELS, clip
from bot.slack.render.modals import OPTIONS, PlanState, loading_modal, notice_modal, plan_modal
from bot.slack.reply import Who, tell
from bot.slack.targets import candidates
from bot.store.models import Incident
from bot.store.playbook_models import RunStatus
from playbooks.base import Target
from playbooks.views import RunView

__all__ = ["Progress", "decide", "execute", "open_for_incident", "open_for_target", "replan",
           "submit"]

log = structlog.get_logger(__name__)

PROGRESS_EVERY = 2.0  # seconds between run-message refreshes while a playbook runs


class Progress:
    """playbooks.runner's progress callback: asks the sender to refresh the run message,
    at most every PROGRESS_EVERY seconds (and at the last step)."""

    def __init__(self, deps: SlackDeps, run_id: int) -> None:
        self.deps, self.run_id, self.last = deps, run_id, 0.0

    def __call__(self, done: int, total: int, summary: str) -> None:
        now = time.monotonic()
        if done < total and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        self.deps.spawn(sync_run(self.deps, self.run_id), f"progress-{self.run_id}")


async def sync_run(deps: SlackDeps, run_id: int, incident_id: int | None = None) -> None:
    async with deps.sessions.begin() as s:
        request_sync(s, deps.clock(), run_id=run_id, incident_id=incident_id)


async def _open(client: AsyncWebClient, who: Who, playbook: str) -> tuple[str, str] | None:
    """Open the placeholder modal right away: the trigger expires 3 s after the click."""
    if not who.trigger_id:
        return None
    state = PlanState(playbook, [{}])
    response = await client.views_open(trigger_id=who.trigger_id, view=loading_modal(state))
    view = response["view"]
    return str(view["id"]), str(view["hash"])


async def _notice(client: AsyncWebClient, opened: tuple[str, str], title: str, text: str) -> None:
    await client.views_update(view_id=opened[0], hash=opened[1], view=notice_modal(title, text))


async def show_plan(deps: SlackDeps, client: AsyncWebClient, user: str, state: PlanState,
                    view_id: str, view_hash: str) -> None:
    if (problem := deps.playbooks_problem) is not None:
        view = notice_modal(PLAYBOOK_LABELS.get(state.playbook, state.playbook),
                            f"{state.target.describe()}: {problem}")
    else:
        try:
            plan = await deps.door.plan(user, state.playbook, state.target,
                                           reason=state.reason or "(reason given on submit)",
                                           options=state.options)
            playbook = deps.door.playbooks[state.playbook]
            view = plan_modal(state, plan,
                              approval=deps.door.approval_required(playbook, plan))
        except ActionError as exc:
            view = plan_modal(state, None, approval=False, error=str(exc))
    try:
        await client.views_update(view_id=view_id, hash=view_hash, view=view)
    except SlackApiError as exc:  # hash_conflict: the admin changed it meanwhile; theirs wins
        log.info("slack.plan_not_shown", error=str(exc.response.get("error")))


async def open_for_incident(deps: SlackDeps, client: AsyncWebClient, who: Who,
                            incident_id: int, playbook: str) -> None:
    opened = await _open(client, who, playbook)
    if opened is None:
        return
    async with deps.sessions() as s:
        incident = await s.get(Incident, incident_id)
    if incident is None:
        await _notice(client, opened, "Playbook", f"There is no incident #{incident_id}.")
        return
    targets = candidates(playbook, incident.subject, incident.evidence)
    if not targets:
        usage = {"freeze": "/warden freeze USER", "unverify-email": "/warden unverify EMAIL",
                 "yank": "/warden yank PROJECT VERSION"}.get(playbook, "the warden CLI")
        await _notice(client, opened, PLAYBOOK_LABELS.get(playbook, playbook),
                      f"Incident #{incident_id} ({incident.subject}) names nothing "
                      f"{playbook} can act on. Use {usage}.")
        return
    state = PlanState(playbook, [t.as_dict() for t in targets], incident_id=incident_id,
                      channel=who.channel,
                      reason=clip(f"incident #{incident_id}: {incident.summary}", 500))
    await show_plan(deps, client, who.user, state, *opened)


async def open_for_target(deps: SlackDeps, client: AsyncWebClient, who: Who, playbook: str,
                          target: Target) -> None:
    opened = await _open(client, who, playbook)
    if opened is not None:
        state = PlanState(playbook, [target.as_dict()], channel=who.channel)
        await show_plan(deps, client, who.user, state, *opened)


def typed_reason(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get("reason") or {}).get("reason") or {}).get("value") or "").strip()


async def replan(deps: SlackDeps, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """Another target or other options were chosen in the modal: show their plan."""
    view, action = body["view"], body["actions"][0]
    state = PlanState.from_json(view["private_metadata"])
    if action["action_id"] == "plan_target":
        state = state.choose(int(action["selected_option"]["value"]))
    else:
        known = {name for name, _ in OPTIONS.get(state.playbook, [])}
        chosen = {o["value"] for o in action.get("selected_options") or []}
        state = replace(state, options={name: True for name in chosen & known})
    state = replace(state, reason=typed_reason(view) or state.reason)
    await show_plan(deps, client, Who.of(body).user, state, view["id"], view["hash"])


async def submit(deps: SlackDeps, client: AsyncWebClient, who: Who, state: PlanState,
                 reason: str) -> None:
    """Request the run; run it now unless a second admin must approve it first."""
    if (problem := deps.playbooks_problem) is not None:
        await tell(client, who, problem)
        return
    try:
        run = await deps.door.request(who.user, state.playbook, state.target, reason=reason,
                                         options=state.options, incident_id=state.incident_id)
    except ActionError as exc:
        await tell(client, who, f"Not requested: {exc}")
        return
    await sync_run(deps, run.id, run.incident_id)
    if run.status == RunStatus.READY:
        await execute(deps, client, who, run.id, resume=False)
    else:
        await tell(client, who, f"Run #{run.id} ({run.playbook} on {run.subject}) waits for a "
                                "second admin's approval; its message has the buttons.")


async def execute(deps: SlackDeps, client: AsyncWebClient, who: Who, run_id: int, *,
                  resume: bool) -> None:
    if (problem := deps.playbooks_problem) is not None:
        await tell(client, who, problem)
        return
    go = deps.door.resume if resume else deps.door.run
    try:
        run = await go(run_id, who.user, Progress(deps, run_id))
    except ActionError as exc:
        await tell(client, who, f"Run #{run_id}: {exc}")
        return
    finally:
        await sync_run(deps, run_id)
    await tell(client, who, _outcome(run))


def _outcome(run: RunView) -> str:
    if run.status == RunStatus.DONE:
        return f"Run #{run.id} ({run.playbook} on {run.subject}) is done and verified."
    return (f"Run #{run.id} ({run.playbook} on {run.subject}) is {run.status}: "
            f"{run.error or 'see its message'}. Resume continues from step "
            f"{run.steps_done + 1} of {len(run.steps)}.")


async def decide(deps: SlackDeps, client: AsyncWebClient, who: Who, run_id: int,
                 decision: str) -> None:
    """Approve (then run, as the approver) or reject a run that awaits approval."""
    if (problem := deps.playbooks_problem) is not None:
        await tell(client, who, problem)
        return
    decide_ = deps.door.approve if decision == "approve" else deps.door.reject
    try:
        run = await decide_(run_id, who.user)
    except ActionError as exc:
        await tell(client, who, f"Run #{run_id}: {exc}")
        return
    await sync_run(deps, run_id)
    if run.status == RunStatus.READY:
        await execute(deps, client, who, run_id, resume=False)
