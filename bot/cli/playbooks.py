"""`warden playbook`: list, show, approve, reject, cancel, run and resume playbook runs.

Also the plumbing the response commands (bot/cli/respond.py) share: opening the
actions layer, the progress bar, and printing a run.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.actions import Actions, RunView
from bot.cli.common import (
    ActorOption,
    ConfigOption,
    JsonOption,
    default_actor,
    err,
    fail,
    out,
    run_async,
    settings_from,
    with_actions,
)
from bot.cli.plain import markup, plain
from bot.plaintext import reveal
from bot.store.playbook_models import RunStatus
from playbooks.runner import Progress as ProgressFn

T = TypeVar("T")

app = typer.Typer(help="Playbook runs: list, show, approve, run, resume.", no_args_is_help=True)

RunIdArg = Annotated[int, typer.Argument(help="Playbook run number.")]
NoteOption = Annotated[str | None, typer.Option("--note", help="Note for the audit log.")]


def run_with_progress(as_json: bool, work: Callable[[ProgressFn | None], Awaitable[T]]
                      ) -> Awaitable[T]:
    """Give ``work`` a progress callback drawing a bar on stderr (none in JSON mode)."""
    if as_json:
        return work(None)

    async def with_bar() -> T:
        # The description is a step's summary, which quotes the index: not markup.
        columns = (TextColumn("{task.description}", markup=False), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("applying", total=None)

            def update(done: int, total: int, summary: str) -> None:
                bar.update(task, completed=done, total=total,
                           description=reveal(summary)[:60])

            return await work(update)

    return with_bar()


def print_run(run: RunView, as_json: bool, *, steps: bool = False) -> None:
    if as_json:
        out.print_json(json.dumps(run.as_dict()))
        return
    approvals = ", ".join(f"{a} ({d})" for a, d, _ in run.approvals) or "-"
    # Subjects, plans, step summaries and errors quote the index: printed as plain text.
    out.print(markup("[bold]run #{}[/] {} {}: [bold]{}[/] ({}/{} steps; requested by {}; "
                     "approvals: {})", run.id, run.playbook, run.subject, run.status,
                     run.steps_done, len(run.steps), run.requested_by, approvals))
    if steps or run.status in (RunStatus.AWAITING_APPROVAL, RunStatus.READY):
        out.print(plain(run.plan.text(), newlines=True))
    if steps:
        for s in run.steps:
            changed = {True: "changed", False: "no change", None: ""}[s.changed]
            out.print(plain(f"  [{s.state:>7}] {s.summary} {changed}"
                            + (f" error: {s.error}" if s.error else "")))
    if run.verification is not None:
        # `show` (steps) lists every check the verification made; other commands only
        # those that failed.
        for check in run.verification.get("checks", []):
            if not check["ok"]:
                out.print(plain(f"  verify FAILED: {check['what']}: {check['detail']}"))
            elif steps:
                out.print(plain(f"  verify ok: {check['what']}"))
    elif steps and run.status in (RunStatus.DONE, RunStatus.FAILED):
        out.print("  verification: not made (the run did not get that far)")
    if run.error:
        out.print(plain("error:", "red") + " " + plain(run.error))
    if run.status == RunStatus.AWAITING_APPROVAL:
        out.print(f"awaits approval by a second admin: warden playbook approve {run.id}")


def exit_for(run: RunView) -> None:
    """Exit 1 when the run failed (a step or the verification)."""
    if run.status == RunStatus.FAILED:
        raise typer.Exit(1)


@app.command("list")
def list_(
    config: ConfigOption = None,
    status: Annotated[list[str] | None, typer.Option(
        "--status", "-s", help="Only these statuses (repeatable).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List playbook runs, newest first."""
    settings = settings_from(config)
    runs = run_async(lambda: with_actions(settings, config,
                                          lambda a: a.list_runs(status or (), limit)))
    if as_json:
        out.print_json(json.dumps([r.as_dict() for r in runs]))
        return
    if not runs:
        out.print("no playbook runs")
    for r in runs:
        out.print(plain(f"#{r.id:<5} {r.status:<18} {r.playbook:<18} {r.subject}  "
                        f"{r.steps_done}/{len(r.steps)} steps  by {r.requested_by}"))


@app.command("show")
def show(run_id: RunIdArg, config: ConfigOption = None, as_json: JsonOption = False,
         with_audit: Annotated[bool, typer.Option("--audit", help="Include the audit log.")]
         = False) -> None:
    """Show one run: its plan, steps, approvals, verification (and audit log)."""
    settings = settings_from(config)

    async def work(actions: Actions) -> tuple[RunView, list[dict[str, Any]]]:
        run = await actions.show(run_id)
        return run, (await actions.audit_trail(run_id) if with_audit else [])

    run, trail = run_async(lambda: with_actions(settings, config, work))
    if as_json:
        out.print_json(json.dumps({**run.as_dict(), "audit": trail}))
        return
    print_run(run, False, steps=True)
    for e in trail:
        out.print(plain(f"  {e['at']} {e['actor']} {e['action']} {e['outcome']}"))


def _decide(verb: str, run_id: int, actor: str, note: str | None, config: Path | None,
            as_json: bool, then_run: bool, yes: bool = True) -> None:
    settings = settings_from(config)

    async def work(actions: Actions) -> RunView:
        if not yes:
            await _confirm(actions, run_id, then_run, as_json)
        decide = actions.approve if verb == "approve" else actions.reject
        run = await decide(run_id, actor, note)
        if then_run and run.status == RunStatus.READY:
            return await run_with_progress(
                as_json, lambda progress: actions.run(run_id, actor, progress))
        return run

    run = run_async(lambda: with_actions(settings, config, work))
    print_run(run, as_json)
    exit_for(run)


async def _confirm(actions: Actions, run_id: int, then_run: bool, as_json: bool) -> None:
    """Show the approver the stored plan (what the approval lets run) and ask."""
    run = await actions.show(run_id)
    shown = err if as_json else out  # with --json, stdout carries only the JSON
    shown.print(plain(f"run #{run.id} {run.playbook} {run.subject}: {run.status}; "
                      f"requested by {run.requested_by}"))
    shown.print(plain(run.plan.text(), newlines=True))
    if run.status != RunStatus.AWAITING_APPROVAL:
        return  # approve() refuses it with the reason; nothing to ask
    question = "Approve and run this change?" if then_run else "Approve this change?"
    if not typer.confirm(question, err=True):
        raise fail("not approved; nothing changed", code=1)


@app.command("approve")
def approve(run_id: RunIdArg, actor: ActorOption = "", note: NoteOption = None,
            then_run: Annotated[bool, typer.Option(
                "--run/--no-run", help="Run it right after approving (default).")] = True,
            yes: Annotated[bool, typer.Option(
                "--yes", "-y", help="Approve without showing the plan and asking.")] = False,
            config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Approve a run requested by another admin (and run it): shows the plan first and
    asks, unless --yes."""
    _decide("approve", run_id, actor or default_actor(), note, config, as_json, then_run,
            yes)


@app.command("reject")
def reject(run_id: RunIdArg, actor: ActorOption = "", note: NoteOption = None,
           config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Reject a run that awaits approval."""
    _decide("reject", run_id, actor or default_actor(), note, config, as_json, False)


@app.command("cancel")
def cancel(run_id: RunIdArg, actor: ActorOption = "", note: NoteOption = None,
           config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Cancel a run that has not finished."""
    settings = settings_from(config)
    run = run_async(lambda: with_actions(
        settings, config, lambda a: a.cancel(run_id, actor or default_actor(), note)))
    print_run(run, as_json)


def _execute(resume: bool, run_id: int, actor: str, config: Path | None,
             as_json: bool) -> None:
    settings = settings_from(config)

    async def work(actions: Actions) -> RunView:
        go = actions.resume if resume else actions.run
        return await run_with_progress(as_json, lambda progress: go(run_id, actor, progress))

    run = run_async(lambda: with_actions(settings, config, work))
    print_run(run, as_json)
    exit_for(run)


@app.command("run")
def run_(run_id: RunIdArg, actor: ActorOption = "", config: ConfigOption = None,
         as_json: JsonOption = False) -> None:
    """Apply an approved run and verify it."""
    _execute(False, run_id, actor or default_actor(), config, as_json)


@app.command("resume")
def resume(run_id: RunIdArg, actor: ActorOption = "", config: ConfigOption = None,
           as_json: JsonOption = False) -> None:
    """Go on with a run that crashed or failed: steps already done are skipped."""
    _execute(True, run_id, actor or default_actor(), config, as_json)
