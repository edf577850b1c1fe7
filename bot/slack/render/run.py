"""The playbook run message: plan, approvals, progress and result, updated in place.

It is a reply in the incident's thread (or a message of its own for runs that answer
no incident) and carries the Approve / Reject buttons while a second admin must decide,
and Resume when a step failed.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack.render.common import Rendered, clip, esc, who
from bot.store.playbook_models import RunStatus
from playbooks.base import Plan
from playbooks.views import RunView

__all__ = ["plan_text", "run_message"]

MAX_STEPS = 25
_STATE = {"pending": "◻️", "running": "⏳", "done": "✅", "failed": "❌"}
_STATUS = {
    RunStatus.AWAITING_APPROVAL: ":hourglass_flowing_sand: awaiting a second admin's approval",
    RunStatus.READY: ":arrow_forward: ready to run", RunStatus.RUNNING: ":gear: running",
    RunStatus.DONE: ":white_check_mark: done and verified", RunStatus.FAILED: ":x: failed",
    RunStatus.REJECTED: ":no_entry: rejected", RunStatus.CANCELLED: ":heavy_minus_sign: cancelled",
}


def _lines(lines: list[str], more: int) -> str:
    if more > 0:
        lines.append(f"… and {more} more")
    return "\n".join(lines)


def plan_text(plan: Plan) -> str:
    """The exact changes of a plan, as mrkdwn (for the modal and the run message)."""
    parts = []
    if plan.blockers:
        parts.append("*Refused:*\n" + "\n".join(f"• {esc(b)}" for b in plan.blockers))
    if plan.steps:
        shown = [f"{i}. {esc(s.summary)}" for i, s in enumerate(plan.steps[:MAX_STEPS], 1)]
        parts.append(f"*{len(plan.steps)} change(s):*\n"
                     + _lines(shown, len(plan.steps) - MAX_STEPS))
    elif not plan.blockers:
        parts.append("_nothing to change_")
    if plan.notes:
        parts.append("\n".join(f"_note:_ {esc(n)}" for n in plan.notes))
    return clip("\n".join(parts), 3000)


def _steps(run: RunView) -> str:
    shown = [f"{_STATE.get(s.state, '•')} {esc(s.summary)}"
             + (f" — {esc(clip(s.error, 200))}" if s.error else "")
             for s in run.steps[:MAX_STEPS]]
    return clip(f"*Steps ({run.steps_done}/{len(run.steps)} done):*\n"
                + _lines(shown, len(run.steps) - MAX_STEPS), 3000)


def _decisions(run: RunView) -> str:
    return "\n".join(f"{'Approved' if d == 'approved' else 'Rejected'} by {who(a)}"
                     + (f": {esc(n)}" if n else "") for a, d, n in run.approvals)


def _buttons(run: RunView) -> list[ButtonElement]:
    value = str(run.id)
    if run.status == RunStatus.AWAITING_APPROVAL:
        return [
            ButtonElement(text="Approve and run", action_id="run_approve", value=value,
                          style="primary", confirm=ConfirmObject(
                              title="Approve this run?", confirm="Approve", deny="Cancel",
                              text=f"Run #{run.id} ({run.playbook} on {run.subject}) will "
                                   "change the index now.")),
            ButtonElement(text="Reject", action_id="run_reject", value=value, style="danger"),
        ]
    if run.status == RunStatus.FAILED:
        return [ButtonElement(text="Resume", action_id="run_resume", value=value,
                              style="primary")]
    if run.status == RunStatus.READY:
        return [ButtonElement(text="Run", action_id="run_start", value=value, style="primary")]
    return []


def _result(run: RunView) -> list[Block]:
    blocks: list[Block] = []
    failed = [c for c in (run.verification or {}).get("checks", []) if not c.get("ok")]
    if failed:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(
            "*Verification failed:*\n" + "\n".join(
                f"• {esc(c.get('what'))}: {esc(c.get('detail'))}" for c in failed[:10]), 3000))))
    if run.error:
        hint = (f"\n{run.steps_done} of {len(run.steps)} step(s) were done; *Resume* goes on "
                f"from there (or `warden playbook resume {run.id}`).")
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text=clip(f"*Error:* {esc(run.error)}{hint}", 3000))))
    return blocks


def run_message(run: RunView) -> Rendered:
    status = _STATUS.get(run.status, esc(run.status))
    head = (f":hammer_and_wrench: *Playbook {esc(run.playbook)}* on `{esc(run.subject)}` "
            f"— run #{run.id}\n{status}")
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=head)),
        SectionBlock(text=MarkdownTextObject(text=clip(
            f"Requested by {who(run.requested_by)}: {esc(run.reason)}", 3000))),
    ]
    if run.status in (RunStatus.AWAITING_APPROVAL, RunStatus.READY) or not run.steps:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=plan_text(run.plan))))
    else:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_steps(run))))
    if run.approvals:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(_decisions(run), 3000))))
    blocks += _result(run)
    if buttons := _buttons(run):
        blocks.append(ActionsBlock(block_id=f"run:{run.id}", elements=buttons))
    flags = " · destructive" if run.destructive else ""
    flags += " · needs a second admin" if run.approval_required else ""
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=esc(
        f"run #{run.id} · backend {run.backend}{flags} · requested "
        f"{run.requested_at:%Y-%m-%d %H:%M} UTC"))]))
    text = esc(f"Playbook {run.playbook} on {run.subject}: run #{run.id} {run.status}")
    return Rendered.of(text, blocks)
