"""Modals: the playbook plan (exact changes, target, options, reason) and false positive.

What a modal is about travels in its `private_metadata` (`PlanState`), so any replica
can handle the next interaction with it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.slack.render.common import PLAYBOOK_LABELS, clip, esc
from bot.slack.render.run import plan_text
from playbooks.base import Plan, Target

__all__ = ["OPTIONS", "PlanState", "fp_modal", "loading_modal", "notice_modal", "plan_modal"]

# Checkbox options a playbook understands (`options` of Actions.plan/request).
OPTIONS: dict[str, list[tuple[str, str]]] = {
    "freeze": [("unverify_emails", "Also unverify every verified address"),
               ("block_password_reset", "Also prohibit password resets"),
               ("prohibit_shared_domains",
                "Also prohibit email domains other active accounts use")],
    "restore": [("skip_missing", "Restore the rest when some blobs are missing or differ")],
}
MAX_TARGETS = 50


@dataclass(frozen=True, slots=True)
class PlanState:
    """The plan modal's subject: playbook, candidate targets, the chosen one and options."""

    playbook: str
    targets: list[dict[str, str]]
    chosen: int = 0
    incident_id: int | None = None
    channel: str | None = None
    options: dict[str, bool] = field(default_factory=dict)
    reason: str = ""

    @property
    def target(self) -> Target:
        return Target.from_dict(self.targets[self.chosen])

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str) -> PlanState:
        raw: dict[str, Any] = json.loads(data)
        state = cls(**raw)
        if not 0 <= state.chosen < len(state.targets):
            raise ValueError("chosen target out of range")
        return state

    def choose(self, chosen: int) -> PlanState:
        return replace(self, chosen=chosen if 0 <= chosen < len(self.targets) else 0)


def _title(state: PlanState) -> str:
    return clip(PLAYBOOK_LABELS.get(state.playbook, state.playbook).capitalize(), 24)


def loading_modal(state: PlanState) -> dict[str, Any]:
    return View(type="modal", callback_id="plan", title=_title(state), close="Cancel",
                private_metadata=state.to_json(), blocks=[SectionBlock(
                    text=MarkdownTextObject(text=":hourglass: working out the plan…"))]).to_dict()


def notice_modal(title: str, text: str) -> dict[str, Any]:
    return View(type="modal", title=clip(title, 24), close="Close", blocks=[
        SectionBlock(text=MarkdownTextObject(text=clip(esc(text), 3000)))]).to_dict()


def _choices(state: PlanState) -> list[Block]:
    blocks: list[Block] = []
    if len(state.targets) > 1:
        options = [Option(value=str(i), text=clip(Target.from_dict(t).describe(), 75))
                   for i, t in enumerate(state.targets[:MAX_TARGETS])]
        blocks.append(ActionsBlock(block_id="target", elements=[StaticSelectElement(
            action_id="plan_target", options=options, initial_option=options[state.chosen])]))
    if state.playbook in OPTIONS:
        options = [Option(value=name, text=label) for name, label in OPTIONS[state.playbook]]
        chosen = [o for o in options if state.options.get(o.value or "")]
        blocks.append(ActionsBlock(block_id="options", elements=[CheckboxesElement(
            action_id="plan_options", options=options, initial_options=chosen or None)]))
    return blocks


def plan_modal(state: PlanState, plan: Plan | None, *, approval: bool,
               error: str | None = None) -> dict[str, Any]:
    """The plan of `state.target` with a reason input, or why there is nothing to submit."""
    about = f"*{esc(PLAYBOOK_LABELS.get(state.playbook, state.playbook))}* on " \
            f"`{esc(state.target.describe())}`"
    if state.incident_id is not None:
        about += f" for incident #{state.incident_id}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=about)), *_choices(state)]
    body = f":warning: {esc(error)}" if error else plan_text(plan) if plan else "_no plan_"
    blocks.append(SectionBlock(block_id="plan", text=MarkdownTextObject(text=clip(body, 3000))))
    runnable = plan is not None and plan.ok and bool(plan.steps) and error is None
    if runnable:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=(
            "Destructive: submitting asks a *second admin* to approve before anything changes."
            if approval else "Submitting runs the playbook now; progress goes to the thread."))]))
        blocks.append(InputBlock(
            block_id="reason", label="Reason (audit log; a yank shows it to users)",
            element=PlainTextInputElement(action_id="reason", multiline=True, max_length=2000,
                                          initial_value=state.reason or None)))
    submit = ("Request approval" if approval else "Run") if runnable else None
    return View(type="modal", callback_id="plan", title=_title(state), close="Cancel",
                submit=submit, private_metadata=state.to_json(), blocks=blocks).to_dict()


def fp_modal(incident_id: int, summary: str, channel: str | None,
             pair: tuple[str, str] | None) -> dict[str, Any]:
    text = f"Incident #{incident_id} will be closed as a *false positive*.\n>{esc(clip(summary, 500))}"
    if pair:
        text += (f"\n`{esc(pair[0])}` will not be flagged as a look-alike of "
                 f"`{esc(pair[1])}` again (typosquat allowlist).")
    metadata = json.dumps({"incident_id": incident_id, "channel": channel})
    return View(type="modal", callback_id="false_positive", title="False positive",
                submit="Close incident", close="Cancel", private_metadata=metadata, blocks=[
                    SectionBlock(text=MarkdownTextObject(text=clip(text, 3000))),
                    InputBlock(block_id="reason", label="Why is it a false positive?",
                               element=PlainTextInputElement(action_id="reason", multiline=True,
                                                             max_length=2000)),
                ]).to_dict()
