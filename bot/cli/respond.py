"""The response commands: restore, yank, unyank, freeze, unfreeze, unverify, quarantine,
unquarantine (``release-quarantine``, its old name, is a hidden alias), remove-malware,
not-malware.
Each plans, shows the plan and asks (unless --yes), requests the run (planning again, so
the stored plan is current; a plan that changed after it was shown is cancelled) and, if
no second admin must approve it, applies and verifies it with a progress bar. --dry-run
prints the plan and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.actions import Actions, PlanRefused, RunView
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
from bot.cli.plain import plain
from bot.cli.playbooks import (
    exit_for,
    print_run,
    run_with_progress,
)
from bot.store.playbook_models import RunStatus
from playbooks.base import Plan, Target

ReasonOption = Annotated[str, typer.Option("--reason", "-r", help="Why (goes to the audit log).")]
IncidentOption = Annotated[int | None, typer.Option(
    "--incident", help="Incident this responds to (marked mitigated when verified).")]
DryRunOption = Annotated[bool, typer.Option(
    "--dry-run", help="Print the plan and change nothing.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def respond(playbook: str, target: Target, *, reason: str, options: dict[str, Any],
            incident: int | None, dry_run: bool, yes: bool, actor: str, config: Path | None,
            as_json: bool) -> None:
    settings = settings_from(config)
    actor = actor or default_actor()

    async def work(actions: Actions) -> Plan | RunView:
        shown = None
        if dry_run or not yes:
            shown = await actions.plan(actor, playbook, target, reason=reason, options=options,
                                       incident_id=incident)
            if dry_run:
                return shown
            if shown.ok:
                if not as_json:
                    out.print(plain(shown.text(), newlines=True))
                if not typer.confirm("Request this change?", err=True):
                    raise fail("aborted", code=1)
        try:  # plans again: what is stored is what the index looks like now
            run = await actions.request(actor, playbook, target, reason=reason,
                                        options=options, incident_id=incident)
        except PlanRefused as exc:  # audited by request()
            return exc.plan
        if shown is not None and run.plan.steps != shown.steps:
            await actions.cancel(run.id, actor, note="the plan changed after it was shown")
            raise fail(f"the plan changed after it was shown; run {run.id} was cancelled, "
                       "review it again", code=1)
        if run.status != RunStatus.READY:
            return run
        return await run_with_progress(as_json, lambda p: actions.run(run.id, actor, p))

    result = run_async(lambda: with_actions(settings, config, work))
    if isinstance(result, Plan):
        if as_json:
            out.print_json(json.dumps({"dry_run": dry_run, "plan": result.as_dict(),
                                       "plan_text": result.text()}))
        else:
            (out if result.ok else err).print(plain(result.text(), newlines=True))
        if not result.ok:
            raise typer.Exit(1)
        return
    print_run(result, as_json)
    exit_for(result)


def restore(
    project: Annotated[str, typer.Argument(help="Project to restore.")],
    version: Annotated[str | None, typer.Option("--version", help="Only this release.")] = None,
    file: Annotated[str | None, typer.Option("--file", help="Only this file.")] = None,
    skip_missing: Annotated[bool, typer.Option(
        "--skip-missing", help="Restore the rest when some blobs are missing or differ.")]
    = False,
    include_earlier: Annotated[bool, typer.Option(
        "--include-earlier", help="Also bring back releases and files removed before the "
        "removal this restore answers (they stay removed by default).")] = False,
    include_questioned: Annotated[bool, typer.Option(
        "--include-questioned", help="Also bring back roles and releases an open incident "
        "questions (left out by default; the plan names the incident).")] = False,
    reason: ReasonOption = "restore of removed files", incident: IncidentOption = None,
    dry_run: DryRunOption = False, yes: YesOption = False, actor: ActorOption = "",
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Restore a removed project, release or file from storage (digest-checked), as it
    was just before the removal it answers (--incident N: that incident's removal;
    default: the latest removal of the project, release or file)."""
    respond("restore", Target(project=project, version=version, filename=file),
            reason=reason, options={"skip_missing": skip_missing,
                                    "include_earlier": include_earlier,
                                    "include_questioned": include_questioned},
            incident=incident, dry_run=dry_run, yes=yes, actor=actor, config=config,
            as_json=as_json)


def yank(
    project: Annotated[str, typer.Argument()], version: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Shown to users by installers.")],
    incident: IncidentOption = None, dry_run: DryRunOption = False, yes: YesOption = False,
    actor: ActorOption = "", config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Yank a release."""
    respond("yank", Target(project=project, version=version), reason=reason, options={},
            incident=incident, dry_run=dry_run, yes=yes, actor=actor, config=config,
            as_json=as_json)


def unyank(
    project: Annotated[str, typer.Argument()], version: Annotated[str, typer.Argument()],
    reason: ReasonOption = "unyank", incident: IncidentOption = None,
    dry_run: DryRunOption = False, yes: YesOption = False, actor: ActorOption = "",
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Un-yank a release."""
    respond("unyank", Target(project=project, version=version), reason=reason, options={},
            incident=incident, dry_run=dry_run, yes=yes, actor=actor, config=config,
            as_json=as_json)


def freeze(
    user: Annotated[str, typer.Argument(help="Account to freeze.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (audit log).")],
    unverify_emails: Annotated[bool, typer.Option(
        "--unverify-emails", help="Also unverify every verified address.")] = False,
    block_password_reset: Annotated[bool, typer.Option(
        "--block-password-reset", help="Also prohibit password resets.")] = False,
    prohibit_shared_domains: Annotated[bool, typer.Option(
        "--prohibit-shared-domains", help="Also prohibit email domains other active accounts "
        "verify with (skipped otherwise, as shared mail providers).")] = False,
    incident: IncidentOption = None, dry_run: DryRunOption = False, yes: YesOption = False,
    actor: ActorOption = "", config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Freeze an account and prohibit the email domains it verified with."""
    respond("freeze", Target(account=user), reason=reason,
            options={"unverify_emails": unverify_emails,
                     "block_password_reset": block_password_reset,
                     "prohibit_shared_domains": prohibit_shared_domains},
            incident=incident, dry_run=dry_run, yes=yes, actor=actor, config=config,
            as_json=as_json)


def unfreeze(
    user: Annotated[str, typer.Argument(help="Account to unfreeze.")],
    reason: ReasonOption = "unfreeze", incident: IncidentOption = None,
    dry_run: DryRunOption = False, yes: YesOption = False, actor: ActorOption = "",
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Unfreeze an account (reverses the last freeze)."""
    respond("unfreeze", Target(account=user), reason=reason, options={}, incident=incident,
            dry_run=dry_run, yes=yes, actor=actor, config=config, as_json=as_json)


def unverify(
    email: Annotated[str, typer.Argument(help="Address to mark unverified.")],
    reason: ReasonOption = "email domain may have changed hands",
    incident: IncidentOption = None, dry_run: DryRunOption = False, yes: YesOption = False,
    actor: ActorOption = "", config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Unverify an email address."""
    respond("unverify-email", Target(email=email), reason=reason, options={},
            incident=incident, dry_run=dry_run, yes=yes, actor=actor, config=config,
            as_json=as_json)


ReleaseOption = Annotated[str | None, typer.Option(
    "--version", help="Only this release (the other releases stay installable).")]


def quarantine(
    project: Annotated[str, typer.Argument()], version: ReleaseOption = None,
    reason: ReasonOption = "quarantine", incident: IncidentOption = None,
    dry_run: DryRunOption = False, yes: YesOption = False, actor: ActorOption = "",
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Put a project (or one release) in quarantine."""
    respond("quarantine", Target(project=project, version=version), reason=reason, options={},
            incident=incident, dry_run=dry_run, yes=yes, actor=actor, config=config,
            as_json=as_json)


def unquarantine(
    project: Annotated[str, typer.Argument()], version: ReleaseOption = None,
    reason: ReasonOption = "quarantine cleared", incident: IncidentOption = None,
    dry_run: DryRunOption = False, yes: YesOption = False, actor: ActorOption = "",
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Take a project (or one release) out of quarantine."""
    respond("unquarantine", Target(project=project, version=version), reason=reason,
            options={}, incident=incident, dry_run=dry_run, yes=yes, actor=actor,
            config=config, as_json=as_json)


def remove_malware(
    project: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (audit log; Warehouse "
                                        "keeps it with a removed release).")],
    version: Annotated[str | None, typer.Option(
        "--version", help="Only remove this release (owners are not frozen).")] = None,
    incident: IncidentOption = None, dry_run: DryRunOption = False, yes: YesOption = False,
    actor: ActorOption = "", config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Remove a project as malware: freeze its owners, prohibit the name, remove it."""
    respond("remove-malware", Target(project=project, version=version), reason=reason,
            options={}, incident=incident, dry_run=dry_run, yes=yes, actor=actor,
            config=config, as_json=as_json)


def not_malware(
    project: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (Warehouse keeps it with "
                                        "the verdict on each report).")],
    incident: IncidentOption = None, dry_run: DryRunOption = False, yes: YesOption = False,
    actor: ActorOption = "", config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Decide a project's malware reports as not malware (Warehouse's verdict)."""
    respond("not-malware", Target(project=project), reason=reason, options={},
            incident=incident, dry_run=dry_run, yes=yes, actor=actor, config=config,
            as_json=as_json)


COMMANDS: dict[str, Callable[..., None]] = {
    "restore": restore, "yank": yank, "unyank": unyank, "freeze": freeze,
    "unfreeze": unfreeze, "unverify": unverify, "quarantine": quarantine,
    "unquarantine": unquarantine, "remove-malware": remove_malware,
    "not-malware": not_malware,
}
# Old command names kept working (not listed in --help) for one release.
HIDDEN_ALIASES = {"release-quarantine": "unquarantine"}


def register(app: typer.Typer) -> None:
    """Add the response commands to the top-level ``warden`` app."""
    for name, command in COMMANDS.items():
        app.command(name)(command)
    for old, new in HIDDEN_ALIASES.items():
        app.command(old, hidden=True)(COMMANDS[new])
