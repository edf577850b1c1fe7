"""`warden feed`: catch up with the index's changelog."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

from bot.cli.common import (
    ConfigOption,
    IndexUrlOption,
    JsonOption,
    out,
    run_async,
    settings_from,
    stop_on_signals,
    with_warden,
)
from bot.wiring import Warden

app = typer.Typer(help="The index's changelog feed.", no_args_is_help=True)


@app.command("sync")
def sync(
    config: ConfigOption = None,
    index_url: IndexUrlOption = None,
    until_serial: Annotated[
        int | None, typer.Option("--until-serial", min=0, help="Stop after this serial.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Process the changelog from the stored cursor up to the index's last serial and exit.

    For catch-up, backfill and cron. Prints how many events were stored, by kind.
    """
    settings = settings_from(config, **({"index": {"url": index_url}} if index_url else {}))

    async def work(warden: Warden) -> dict[str, Any]:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await warden.ensure_critical_set()
        result = await warden.feed.sync(until=until_serial, stop=stop)
        return {"events": result.events, "batches": result.batches, "cursor": result.cursor,
                "incidents": sorted(set(result.incidents)), "by_kind": result.by_kind,
                "rejected": result.rejected, "stopped": result.stopped}

    summary = run_async(lambda: with_warden(settings, work, json_output=as_json))
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(f"stored {summary['events']} events in {summary['batches']} batches; "
              f"cursor at {summary['cursor']}; incidents touched: {len(summary['incidents'])}")
    if summary["rejected"]:
        out.print(f"set aside {summary['rejected']} entries the index sent that failed "
                  "validation (see the feed anomaly incident)")
    if summary["stopped"]:
        out.print("stopped on request; the next run resumes from the cursor")
    for kind, count in sorted(summary["by_kind"].items()):
        out.print(f"  {kind:<28} {count}")
