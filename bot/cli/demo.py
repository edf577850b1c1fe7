"""`warden demo`: the first command to run — four incidents, end to end, offline."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from bot.cli.common import JsonOption, fail, out
from bot.cli.plain import markup, plain
from bot.demo.confusion import dependency_confusion
from bot.demo.reports import malware_report
from bot.demo.scenarios import (
    Outcome,
    Scenario,
    critical_deletion,
    domain_resurrection,
    typosquat,
)
from bot.demo.world import open_world
from bot.logs import configure_logging

SCENARIOS: list[tuple[str, Scenario]] = [
    ("domain-resurrection", domain_resurrection),
    ("critical-deletion", critical_deletion),
    ("typosquat", typosquat),
    ("dependency-confusion", dependency_confusion),
    ("malware-report", malware_report),
]


async def _run(as_json: bool, only: list[str]) -> list[Outcome]:
    def say(line: str) -> None:
        if not as_json:
            out.print(plain(line))  # quotes incidents and plans: plain text

    outcomes = []
    async with open_world(console=not as_json, notifiers={} if as_json else None) as world:
        for name, scenario in SCENARIOS:
            if only and name not in only:
                continue
            if not as_json:
                out.rule(f"[bold]{name}[/]")
            try:
                outcome = await scenario(world, say)
            except Exception as exc:  # a demo that fails says why, and exits 1
                outcome = Outcome(name, detail=f"{type(exc).__name__}: {exc}")
            outcomes.append(outcome)
            if not as_json:
                await world.warden.feed.deliver()
                state = (markup("[green]verified[/]") if outcome.verified
                         else markup("[red]FAILED[/] {}", outcome.detail))  # an exception's text
                out.print(plain(f"{name}: ") + state + f" in {outcome.seconds:.1f} s")
    return outcomes


def demo(
    as_json: JsonOption = False,
    scenario: Annotated[list[str] | None, typer.Option(
        "--scenario", help="Run only these (repeatable): " + ", ".join(n for n, _ in SCENARIOS)
    )] = None,
) -> None:
    """Replay incidents from PyPI's history end to end, offline, in under a minute.

    Starts local servers (the index double; DNS, RDAP and WHOIS) and a temporary SQLite
    store, then for each scenario: the index event, the incident, the playbook (asked by
    one demo admin, approved by another) and its verified result. Exit 0 only if every
    scenario reached its verified end. --json prints one summary object instead.
    """
    unknown = set(scenario or ()) - {n for n, _ in SCENARIOS}
    if unknown:
        raise fail(f"unknown scenario {', '.join(sorted(unknown))}")
    configure_logging("warning", "false")  # the demo speaks through its own lines
    outcomes = asyncio.run(_run(as_json, scenario or []))
    if as_json:
        out.print_json(json.dumps({"scenarios": [o.as_dict() for o in outcomes]}))
    if not all(o.verified for o in outcomes):
        raise typer.Exit(1)
