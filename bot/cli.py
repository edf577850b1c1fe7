"""The `warden` command line: a thin face on the same calls Slack and the service use."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from bot.config import ConfigError, Settings, load_settings, masked
from bot.feed.client import IndexUnavailable
from bot.incidents import Status, get_incident, list_incidents
from bot.ledger import Ledger
from bot.logs import configure_logging
from bot.store.migrate import upgrade
from bot.wiring import SchemaOutOfDate, Warden

T = TypeVar("T")

app = typer.Typer(
    name="warden",
    help="index-warden: incident response for the admins of a Python package index.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The bot's own database (SQLite by default, PostgreSQL by URL).",
                     no_args_is_help=True)
feed_app = typer.Typer(help="The index's changelog feed.", no_args_is_help=True)
incidents_app = typer.Typer(help="Incidents raised by the detectors.", no_args_is_help=True)
ledger_app = typer.Typer(help="What the bot has recorded about projects.", no_args_is_help=True)
config_app = typer.Typer(help="The effective configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(feed_app, name="feed")
app.add_typer(incidents_app, name="incidents")
app.add_typer(ledger_app, name="ledger")
app.add_typer(config_app, name="config")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML file (default: $WARDEN_CONFIG or ./config/warden.toml).",
                 envvar="WARDEN_CONFIG", show_envvar=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


def settings_from(config: Path | None, **overrides: Any) -> Settings:
    try:
        settings = load_settings(config, **overrides)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    configure_logging(settings.log.level, settings.log.json_)
    return settings


def run_async(work: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(_guard(work))
    except SchemaOutOfDate as exc:
        raise fail(str(exc)) from None
    except IndexUnavailable as exc:
        raise fail(f"the index did not answer usefully: {exc}", code=1) from None


async def _guard(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


async def with_warden(settings: Settings, work: Callable[[Warden], Awaitable[T]]) -> T:
    warden = await Warden.open(settings)
    try:
        return await work(warden)
    finally:
        await warden.close()


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


@app.command()
def run(
    config: ConfigOption = None,
    index_url: Annotated[str | None, typer.Option(help="Index base URL (overrides index.url).")] = None,
) -> None:
    """Follow the index's changelog and raise incidents until stopped.

    Polls every feed.poll_interval_seconds; Ctrl-C or SIGTERM finishes the batch in
    flight, commits it with the cursor, and exits 0.
    """
    overrides = {"index": {"url": index_url}} if index_url else {}
    settings = settings_from(config, **overrides)

    async def work(warden: Warden) -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await warden.seed_critical()
        err.print(f"following {settings.index.url} (store {masked(settings)['store']['url']}); "
                  "Ctrl-C to stop")
        await warden.feed.run_forever(stop, settings.feed.poll_interval_seconds)
        err.print(f"stopped at serial {await warden.pipeline.cursor()}")

    run_async(lambda: with_warden(settings, work))


@feed_app.command("sync")
def feed_sync(
    config: ConfigOption = None,
    index_url: Annotated[str | None, typer.Option(help="Index base URL (overrides index.url).")] = None,
    until_serial: Annotated[int | None, typer.Option(min=0, help="Stop after this serial.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Process the changelog from the stored cursor up to the index's last serial and exit.

    For catch-up, backfill and cron. Prints how many events were stored, by kind.
    """
    overrides = {"index": {"url": index_url}} if index_url else {}
    settings = settings_from(config, **overrides)

    async def work(warden: Warden) -> dict[str, Any]:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await warden.seed_critical()
        result = await warden.feed.sync(until=until_serial, stop=stop)
        return {"events": result.events, "batches": result.batches, "cursor": result.cursor,
                "incidents": sorted(set(result.incidents)), "by_kind": result.by_kind}

    summary = run_async(lambda: with_warden(settings, work))
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(f"stored {summary['events']} events in {summary['batches']} batches; "
              f"cursor at {summary['cursor']}; incidents touched: {len(summary['incidents'])}")
    for kind, count in sorted(summary["by_kind"].items()):
        out.print(f"  {kind:<28} {count}")


@db_app.command("upgrade")
def db_upgrade(
    config: ConfigOption = None,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the database schema to the latest revision (Alembic)."""
    settings = settings_from(config)
    upgrade(settings.store.url, revision)
    out.print(f"database at {masked(settings)['store']['url']} is at revision {revision}")


def _incident_dict(incident: Any, with_timeline: bool = False) -> dict[str, Any]:
    data = {
        "id": incident.id, "status": incident.status, "severity": incident.severity,
        "detector": incident.detector, "kind": incident.kind, "subject": incident.subject,
        "summary": incident.summary, "occurrences": incident.occurrences,
        "assignee": incident.assignee, "playbooks": incident.playbooks,
        "created_at": incident.created_at.isoformat(),
        "updated_at": incident.updated_at.isoformat(), "evidence": incident.evidence,
    }
    if with_timeline:
        data["timeline"] = [
            {"at": t.at.isoformat(), "actor": t.actor, "action": t.action, "detail": t.detail}
            for t in incident.timeline
        ]
    return data


@incidents_app.command("list")
def incidents_list(
    config: ConfigOption = None,
    status: Annotated[list[Status] | None, typer.Option("--status", "-s",
                      help="Only these statuses (repeatable). Default: all.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List incidents, newest first."""
    settings = settings_from(config)

    async def work(warden: Warden) -> list[dict[str, Any]]:
        async with warden.sessions() as session:
            return [_incident_dict(i) for i in await list_incidents(session, status, limit)]

    rows = run_async(lambda: with_warden(settings, work))
    if as_json:
        out.print_json(json.dumps(rows))
        return
    if not rows:
        out.print("no incidents")
        return
    table = Table("id", "severity", "status", "subject", "summary", "seen", box=None)
    for r in rows:
        table.add_row(str(r["id"]), r["severity"], r["status"], r["subject"], r["summary"],
                      str(r["occurrences"]))
    out.print(table)


@incidents_app.command("show")
def incidents_show(
    incident_id: Annotated[int, typer.Argument(help="Incident number.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one incident with its evidence and timeline."""
    settings = settings_from(config)

    async def work(warden: Warden) -> dict[str, Any] | None:
        async with warden.sessions() as session:
            incident = await get_incident(session, incident_id)
            return None if incident is None else _incident_dict(incident, with_timeline=True)

    data = run_async(lambda: with_warden(settings, work))
    if data is None:
        raise fail(f"no incident {incident_id}", code=1)
    if as_json:
        out.print_json(json.dumps(data))
        return
    out.print(f"[bold]#{data['id']}[/] {data['severity'].upper()} {data['status']} "
              f"{data['subject']}\n{data['summary']}")
    out.print(f"playbooks: {', '.join(data['playbooks']) or '-'}; seen {data['occurrences']}x")
    for e in data["evidence"]:
        out.print(f"  - {e.get('summary')}" + (f"  {e['url']}" if e.get("url") else ""))
    out.print("timeline:")
    for t in data["timeline"]:
        out.print(f"  {t['at']} {t['actor']}: {t['action']} {json.dumps(t['detail'])}")


@ledger_app.command("show")
def ledger_show(
    project: Annotated[str, typer.Argument(help="Project name (any PEP 503 spelling).")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show what the ledger holds for a project: releases, files with digests, roles."""
    settings = settings_from(config)

    async def work(warden: Warden) -> dict[str, Any] | None:
        async with warden.sessions() as session:
            ledger = Ledger(session, warden.pipeline.tracked)
            p = await ledger.project(project, with_files=True)
            if p is None:
                return None
            roles = await ledger.roles(project)
            return {
                "name": p.name, "critical": p.critical, "critical_reason": p.critical_reason,
                "removed_at": p.removed_at.isoformat() if p.removed_at else None,
                "quarantined": p.quarantined,
                "releases": [
                    {"version": r.version, "yanked": r.yanked,
                     "removed_at": r.removed_at.isoformat() if r.removed_at else None,
                     "files": [{"filename": f.filename, "size": f.size, "sha256": f.sha256,
                                "blake2b_256": f.blake2b_256, "path": f.path,
                                "removed": f.removed_at is not None} for f in r.files]}
                    for r in p.releases
                ],
                "roles": [{"user": a.username, "role": r.role,
                           "removed": r.removed_at is not None} for r, a in roles],
            }

    data = run_async(lambda: with_warden(settings, work))
    if data is None:
        raise fail(f"the ledger does not track {project!r}", code=1)
    if as_json:
        out.print_json(json.dumps(data))
        return
    flags = [f for f, on in (("critical", data["critical"]), ("removed", data["removed_at"]),
                             ("quarantined", data["quarantined"])) if on]
    out.print(f"[bold]{data['name']}[/] {' '.join(flags)}")
    for r in data["releases"]:
        state = " yanked" if r["yanked"] else ""
        state += " removed" if r["removed_at"] else ""
        out.print(f"  {r['version']}{state}")
        for f in r["files"]:
            out.print(f"    {f['filename']} {f['size']} B sha256={f['sha256'][:16]}…"
                      + (" removed" if f["removed"] else ""))
    for role in data["roles"]:
        out.print(f"  {role['role']}: {role['user']}" + (" (removed)" if role["removed"] else ""))


@config_app.command("show")
def config_show(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Print the effective settings (file + environment + defaults), secrets masked."""
    settings = settings_from(config)
    data = masked(settings)
    if as_json:
        out.print_json(json.dumps(data))
        return
    for section, values in data.items():
        out.print(f"[bold][{section}][/]")
        if isinstance(values, dict):
            for key, value in values.items():
                out.print(f"{key} = {json.dumps(value)}")
        out.print()
