"""`warden incidents`: list and inspect incidents, and triage them without Slack.

ack, assign, resolve, false-positive and reopen go through the actions layer (the actor
checked against access.admins, every attempt audited), exactly as Slack's buttons do.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.actions import Actions
from bot.cli.common import (
    ActorOption,
    ConfigOption,
    JsonOption,
    default_actor,
    fail,
    out,
    run_async,
    settings_from,
    with_actions,
    with_warden,
)
from bot.cli.plain import markup, plain
from bot.incidents import ACTIVE, Status, get_incident, list_incidents
from bot.slack.targets import actionable
from bot.wiring import Warden

app = typer.Typer(help="Incidents raised by the detectors.", no_args_is_help=True)


def _incident_dict(incident: Any, with_timeline: bool = False) -> dict[str, Any]:
    data = {
        "id": incident.id, "status": incident.status, "severity": incident.severity,
        "detector": incident.detector, "kind": incident.kind, "subject": incident.subject,
        "summary": incident.summary, "occurrences": incident.occurrences,
        "assignee": incident.assignee,
        # only what can act: no account named, no freeze or unverify to suggest
        "playbooks": actionable(list(incident.playbooks), incident.subject, incident.evidence),
        "created_at": incident.created_at.isoformat(),
        "updated_at": incident.updated_at.isoformat(), "evidence": incident.evidence,
    }
    if with_timeline:
        data["timeline"] = [
            {"at": t.at.isoformat(), "actor": t.actor, "action": t.action, "detail": t.detail}
            for t in incident.timeline
        ]
    return data


@app.command("list")
def list_(
    config: ConfigOption = None,
    status: Annotated[list[Status] | None, typer.Option(
        "--status", "-s",
        help="Only these statuses (repeatable). 'open' means not yet resolved or a false "
             "positive (open, acknowledged, mitigated), as in Slack. Default: all.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List incidents, newest first."""
    settings = settings_from(config)

    wanted = sorted({s for given in status or () for s in
                     (ACTIVE if given is Status.OPEN else (given,))}) or None

    async def work(warden: Warden) -> list[dict[str, Any]]:
        async with warden.sessions() as session:
            return [_incident_dict(i) for i in await list_incidents(session, wanted, limit)]

    rows = run_async(lambda: with_warden(settings, work))
    if as_json:
        out.print_json(json.dumps(rows))
        return
    if not rows:
        out.print("no incidents")
        return
    table = Table("id", "severity", "status", "subject", "summary", "seen", box=None)
    for r in rows:  # subjects and summaries quote upstream text: cells are plain text
        table.add_row(*(plain(r[k]) for k in ("id", "severity", "status", "subject", "summary",
                                              "occurrences")))
    out.print(table)


@app.command("show")
def show(
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
    out.print(markup("[bold]#{}[/] {} {} {}", data["id"], data["severity"].upper(),
                     data["status"], data["subject"]))
    out.print(plain(data["summary"]))
    out.print(plain(f"playbooks: {', '.join(data['playbooks']) or '-'}; "
                    f"seen {data['occurrences']}x"))
    for e in data["evidence"]:
        out.print(plain(f"  - {e.get('summary')}" + (f"  {e['url']}" if e.get("url") else "")))
    out.print("timeline:")
    for t in data["timeline"]:
        out.print(plain(f"  {t['at']} {t['actor']}: {t['action']} {json.dumps(t['detail'])}"))


IncidentArg = Annotated[int, typer.Argument(help="Incident number.")]
NoteOption = Annotated[str | None, typer.Option("--note", help="Why (goes to the audit log).")]


def _triage(config: Path | None, act: Callable[[Actions], Awaitable[object]], done: str) -> None:
    settings = settings_from(config)
    run_async(lambda: with_actions(settings, config, act, playbooks=False))
    out.print(plain(done))


@app.command("ack")
def ack(incident_id: IncidentArg, note: NoteOption = None, config: ConfigOption = None,
        actor: ActorOption = "") -> None:
    """Acknowledge an incident: someone is on it (admins only; audited)."""
    _triage(config, lambda a: a.acknowledge(incident_id, actor or default_actor(), note),
            f"incident #{incident_id} acknowledged")


@app.command("assign")
def assign(incident_id: IncidentArg,
           assignee: Annotated[str | None, typer.Argument(
               help="Who takes it (default: you).")] = None,
           config: ConfigOption = None, actor: ActorOption = "") -> None:
    """Assign an incident to an admin (admins only; audited)."""
    who = actor or default_actor()
    _triage(config, lambda a: a.assign(incident_id, assignee or who, who),
            f"incident #{incident_id} assigned to {assignee or who}")


@app.command("resolve")
def resolve(incident_id: IncidentArg, note: NoteOption = None, config: ConfigOption = None,
            actor: ActorOption = "") -> None:
    """Resolve an incident: dealt with (admins only; audited)."""
    _triage(config, lambda a: a.resolve(incident_id, actor or default_actor(), note),
            f"incident #{incident_id} resolved")


@app.command("false-positive")
def false_positive(
    incident_id: IncidentArg,
    note: Annotated[str, typer.Option("--note", help="Why it is not a threat (audited; for a "
                                                     "typosquat, the pair is allowlisted).")],
    config: ConfigOption = None, actor: ActorOption = "",
) -> None:
    """Close an incident as a false positive; a typosquat's pair is allowlisted too."""
    if not note.strip():
        raise fail("--note must say why it is a false positive")
    _triage(config, lambda a: a.false_positive(incident_id, actor or default_actor(), note),
            f"incident #{incident_id} closed as a false positive")


@app.command("reopen")
def reopen(incident_id: IncidentArg, note: NoteOption = None, config: ConfigOption = None,
           actor: ActorOption = "") -> None:
    """Reopen a mitigated or closed incident (the only way back; admins only; audited)."""
    _triage(config, lambda a: a.reopen(incident_id, actor or default_actor(), note),
            f"incident #{incident_id} reopened")

