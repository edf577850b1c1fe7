"""`warden devpi`: follow the private devpi indexes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

from bot.cli.common import (
    ConfigOption,
    JsonOption,
    fail,
    out,
    run_async,
    settings_from,
    stop_on_signals,
    with_warden,
)
from bot.feed.client import IndexUnavailable
from bot.feed.devpi_open import DevpiNotConfigured, open_devpi
from bot.feed.devpi_sync import ServerChanged
from bot.wiring import Warden

app = typer.Typer(help="The private devpi indexes (devpi.url, devpi.indexes).",
                  no_args_is_help=True)


@app.command("sync")
def sync(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Follow devpi's changelog from the stored cursor to its head and exit.

    Uploads, releases, removals and acl_upload changes on the followed indexes are stored
    as events; every uploaded file is fetched, checked against its sha256 and kept in
    blob storage; removals of internal packages raise critical incidents.
    """
    settings = settings_from(config)

    async def work(warden: Warden) -> dict[str, Any]:
        stop = asyncio.Event()
        stop_on_signals(stop)
        try:
            follower = await open_devpi(settings, warden.sessions, warden.pipeline.notifiers,
                                        settings.index.command_deadline_seconds)
        except DevpiNotConfigured as exc:
            raise fail(str(exc)) from None
        try:
            result = await follower.sync.sync(stop)
        except (IndexUnavailable, ServerChanged) as exc:
            raise fail(f"devpi: {exc}", code=1) from None
        finally:
            await follower.close()
        await warden.feed.deliver()
        return {"events": result.events, "pages": result.pages, "cursor": result.cursor,
                "head": result.head, "stored_files": result.stored_files,
                "incidents": sorted(set(result.incidents)), "by_kind": result.by_kind,
                "rejected": result.rejected}

    summary = run_async(lambda: with_warden(settings, work, json_output=as_json))
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(f"stored {summary['events']} events from {summary['pages']} pages; cursor at "
              f"{summary['cursor']} (devpi head {summary['head']}); files kept: "
              f"{summary['stored_files']}; incidents touched: {len(summary['incidents'])}")
    for kind, count in sorted(summary["by_kind"].items()):
        out.print(f"  {kind:<28} {count}")
