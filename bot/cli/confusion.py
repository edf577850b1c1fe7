"""`warden confusion scan`: check every existing public name against the internal ones."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.common import ConfigOption, IndexUrlOption, fail, out, run_async, settings_from, with_warden
from bot.feed.simple_names import project_names
from bot.incidents import record_finding
from bot.names import LikenessIndex
from bot.wiring import Warden
from detectors.confusion.detector import (
    confusion_finding,
    find_matches,
    internal_indexes,
    internal_names,
)

app = typer.Typer(help="Dependency confusion between the private indexes and PyPI.",
                  no_args_is_help=True)


def _read_names(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [line.strip() for line in lines if line.strip()]


@app.command("scan")
def scan(
    config: ConfigOption = None,
    index_url: IndexUrlOption = None,
    names: Annotated[Path | None, typer.Option(
        "--names", exists=True, dir_okay=False,
        help="Public names, one a line (.gz read as gzip), instead of the index's "
             "/simple/ list.")] = None,
    jsonl: Annotated[bool, typer.Option(
        "--jsonl", help="One JSON object per match: {name, internal, technique, indexes, "
                        "owners, served_by, incident_id}.")] = False,
) -> None:
    """Check every project the public index already has against the names of the
    internal packages the devpi feed has seen, once (run it when a private index is
    first followed: the squat may already exist). Each match is a critical incident.
    Exits 1 when there is a match."""
    settings = settings_from(config, **({"index": {"url": index_url}} if index_url else {}))

    async def work(warden: Warden) -> list[dict[str, Any]]:
        async with warden.sessions() as session:
            internal = await internal_names(session, settings.devpi.indexes)
            indexes = await internal_indexes(session)
        if not internal:
            raise fail("no internal package is known yet: run `warden devpi sync` first")
        public = _read_names(names) if names else await project_names(warden.client)
        likeness = LikenessIndex(internal)
        found: list[dict[str, Any]] = []
        now = datetime.now(UTC)
        async with warden.sessions.begin() as session:
            for name in public:
                for match in find_matches(name, internal, indexes, likeness)[:1]:
                    incident = await record_finding(session, confusion_finding(match), now,
                                                    warden.pipeline.notifiers)
                    found.append({"name": name, "internal": match.internal,
                                  "technique": match.technique,
                                  "indexes": list(match.indexes), "owners": list(match.owners),
                                  "served_by": [e.index for e in match.exposures if e.served],
                                  "incident_id": incident.id})
        await warden.feed.deliver()
        if not jsonl:
            out.print(f"checked {len(public)} public names against {len(internal)} "
                      f"internal ones: {len(found)} match(es)")
        return found

    found = run_async(lambda: with_warden(settings, work, json_output=jsonl))
    for match in found:
        if jsonl:
            print(json.dumps(match))
        else:
            out.print(f"  {match['name']} -> {match['internal']} ({match['technique']}); "
                      f"owners {', '.join(match['owners'])}; served by "
                      f"{', '.join(match['served_by']) or 'no devpi index'}")
    if found:
        raise typer.Exit(1)
