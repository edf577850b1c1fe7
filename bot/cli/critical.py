"""`warden critical`: the critical set — list, explain, recompute, add, remove."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import select

from bot.actions import Actions
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
    with_warden,
)
from bot.cli.plain import markup, plain
from bot.critical import explain, recompute
from bot.store.models import Project
from bot.wiring import Warden
from detectors.critical_set import DownloadSourceError

app = typer.Typer(help="Critical projects: why each one is critical, and changes to the set.",
                  no_args_is_help=True)

ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")]


@app.command("list")
def list_(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List critical projects with the reason each became critical, and since when."""
    settings = settings_from(config)

    async def work(warden: Warden) -> list[dict[str, Any]]:
        async with warden.sessions() as session:
            rows = (await session.execute(
                select(Project).where(Project.critical.is_(True)).order_by(Project.normalized_name)
            )).scalars()
            return [{"name": p.name, "reason": p.critical_reason,
                     "since": p.critical_since.isoformat() if p.critical_since else None,
                     "ledger_synced": p.synced_at is not None} for p in rows]

    rows = run_async(lambda: with_warden(settings, work))
    if as_json:
        out.print_json(json.dumps(rows))
        return
    for row in rows:
        synced = "" if row["ledger_synced"] else "  (ledger not yet backfilled)"
        out.print(plain(f"{row['name']:<40} {row['reason']}  since {row['since'][:10]}{synced}"))
    err.print(f"{len(rows)} critical projects")


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Project name.")],
         config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Explain why a project is (or is not) critical."""
    settings = settings_from(config)

    async def work(warden: Warden) -> dict[str, Any] | None:
        async with warden.sessions() as session:
            found = await explain(session, name)
            if found is None:
                return None
            project, marks = found
            return {"name": project.name, "critical": project.critical,
                    "since": project.critical_since.isoformat() if project.critical_since else None,
                    "removed_by_admin": project.critical_removed_reason,
                    "reasons": [{"source": m.source, "detail": m.detail,
                                 "first": m.first_at.isoformat(), "last": m.last_at.isoformat()}
                                for m in marks]}

    data = run_async(lambda: with_warden(settings, work))
    if data is None:
        raise fail(f"{name} is not critical and not tracked", code=1)
    if as_json:
        out.print_json(json.dumps(data))
        return
    state = "critical" if data["critical"] else "NOT critical"
    out.print(markup("[bold]{}[/] is {}{}", data["name"], state,
                     f" since {data['since']}" if data["since"] else ""))
    if data["removed_by_admin"]:
        out.print(plain(f"  removed by an admin: {data['removed_by_admin']}"))
    for reason in data["reasons"]:
        out.print(plain(f"  {reason['source']}: {reason['detail']} (first {reason['first'][:10]}, "
                        f"last seen {reason['last'][:10]})"))


@app.command("recompute")
def recompute_cmd(
    config: ConfigOption = None,
    backfill: Annotated[bool, typer.Option(help="Fill the ledger of new critical projects "
                                                "from the JSON API.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Recompute the critical set now (downloads, the stack's dependencies, the admins' list).

    Sticky: projects only ever join; then the ledger of every critical project not yet
    synced is filled from the index's JSON API (progress bar on stderr).
    """
    settings = settings_from(config)

    async def work(warden: Warden) -> dict[str, Any]:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("backfill", total=None)

            def progress(phase: str, done: int, total: int) -> None:
                bar.update(task, description=phase, completed=done, total=total)

            report = await recompute(warden.sessions, settings, warden.pipeline.tracked,
                                     warden.feed.feed, backfill=backfill, progress=progress)
        return {"top": report.top, "dependencies": report.dependencies,
                "missing": report.missing, "manual": report.manual, "added": report.added,
                "kept_removed": report.kept_removed, "backfilled": report.backfilled,
                "truncated": report.truncated}

    try:
        data = run_async(lambda: with_warden(settings, work))
    except DownloadSourceError as exc:
        raise fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(data))
        return
    out.print(f"top by downloads: {data['top']}; stack dependencies: {data['dependencies']}; "
              f"admins' list: {data['manual']}")
    out.print(f"newly critical: {len(data['added'])}; ledger backfilled: {data['backfilled']}")
    if data["missing"]:
        out.print(plain(f"not on the index: {', '.join(data['missing'])}"))
    if data["truncated"]:
        out.print("[yellow]dependency closure hit critical.dependency_limit[/]")


@app.command("add")
def add(name: Annotated[str, typer.Argument(help="Project name.")], reason: ReasonOption,
        config: ConfigOption = None, actor: ActorOption = "") -> None:
    """Mark a project critical (audited; admins only)."""
    settings = settings_from(config)

    async def work(actions: Actions) -> None:
        await actions.add_critical(name, actor or default_actor(), reason)

    run_async(lambda: with_actions(settings, config, work, playbooks=False))
    out.print(plain(f"{name} is critical"))


@app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="Project name.")], reason: ReasonOption,
           config: ConfigOption = None, actor: ActorOption = "") -> None:
    """Take a project out of the critical set; recomputes will not add it back (audited)."""
    settings = settings_from(config)

    async def work(actions: Actions) -> bool:
        return await actions.remove_critical(name, actor or default_actor(), reason)

    removed = run_async(lambda: with_actions(settings, config, work, playbooks=False))
    out.print(plain(f"{name} removed from the critical set" if removed
                    else f"{name} was not critical"))
