"""apply(): run a stored plan step by step, skipping what is done, then verify().

The plan comes from the run row (what was approved), never from a fresh ``plan()``.
A step is "started" in the store before the index is touched and "done" after; a
process killed in between leaves the step "running", and the next resume applies it
again, which the backends make a no-op when the change had landed.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from bot.store.playbook_models import PlaybookRun, StepState
from playbooks.base import Plan, Playbook, PlaybookContext, PlaybookError
from playbooks.runs import RunStore

__all__ = ["Progress", "execute"]

log = structlog.get_logger(__name__)

# Called after each step: (steps done, steps in the plan, summary of the step).
Progress = Callable[[int, int, str], None]


async def execute(store: RunStore, playbook: Playbook, ctx: PlaybookContext, run_id: int,
                  owner: str, progress: Progress | None = None) -> None:
    """Apply the remaining steps of a claimed run, then verify; the store holds the result."""
    run = await store.get(run_id)
    assert run is not None
    plan = Plan.from_dict(run.plan)
    steps = {step.key: step for step in plan.steps}
    total = len(run.steps)
    done = sum(1 for row in run.steps if row.state == StepState.DONE)
    if progress is not None:
        progress(done, total, "resuming" if done else "starting")
    for row in run.steps:
        if row.state == StepState.DONE:
            continue
        step = steps[row.key]
        await store.step_started(run, step.key, owner, ctx.actor)
        try:
            outcome = await playbook.apply_step(step, ctx)
        except PlaybookError as exc:
            await store.step_failed(run, step.key, owner, ctx.actor, str(exc))
            return
        except Exception as exc:
            # Anything else (network, database) also leaves a resumable, audited failure.
            log.exception("playbook step crashed", run=run_id, step=step.key)
            await store.step_failed(run, step.key, owner, ctx.actor,
                                    f"{type(exc).__name__}: {exc}")
            return
        await store.step_done(run, step.key, owner, ctx.actor, outcome)
        done += 1
        if progress is not None:
            progress(done, total, step.summary)
    await _verify(store, playbook, ctx, run, plan, owner)


async def _verify(store: RunStore, playbook: Playbook, ctx: PlaybookContext, run: PlaybookRun,
                  plan: Plan, owner: str) -> None:
    try:
        verification = await playbook.verify(plan, ctx)
    except Exception as exc:
        log.exception("playbook verification crashed", run=run.id)
        await store.abandon(run, owner, f"verification could not run: "
                                        f"{type(exc).__name__}: {exc}")
        return
    await store.finish(run, owner, ctx.actor, verification)
