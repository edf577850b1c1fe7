"""`warden feed`: catch up with the index's changelog."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from bot.cli.common import (
    ConfigOption,
    IndexUrlOption,
    JsonOption,
    err,
    fail,
    out,
    run_async,
    settings_from,
    stop_on_signals,
    with_warden,
)
from bot.cli.plain import plain
from bot.critical import backfill_ledger
from bot.feed.sync import FeedStopped, FeedUsageError, until_stopped
from bot.leader import SecondProcessOnSQLite, SQLiteFileLock
from bot.store.db import is_sqlite
from bot.wiring import Warden

app = typer.Typer(help="The index's changelog feed.", no_args_is_help=True)


@app.command("sync")
def sync(
    config: ConfigOption = None,
    index_url: IndexUrlOption = None,
    from_serial: Annotated[int | None, typer.Option(
        "--from-serial", min=1,
        help="The first serial to process: on a fresh store, where to start (1 replays the "
             "whole history); with a stored cursor, skip ahead to it.")] = None,
    until_serial: Annotated[int | None, typer.Option(
        "--until-serial", min=0,
        help="Stop after this serial (the cursor never moves past it).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Process the changelog from the stored cursor up to the index's last serial and exit.

    For catch-up, backfill and cron. On the first run (no cursor stored) it says where it
    starts (--from-serial, feed.start_serial, else the index's current serial: history is
    not replayed) and fills the ledger of every critical project from the JSON API first
    (progress bar on stderr), so a deletion on day one can be restored. Prints how many
    events were stored, by kind. A request to the index gives up after
    index.command_deadline_seconds (60 s), each retry logged with its reason and wait.
    Refused beside a running `warden run` on the same SQLite store.
    """
    settings = settings_from(config, **({"index": {"url": index_url}} if index_url else {}))

    async def work(warden: Warden) -> dict[str, Any]:
        stop = asyncio.Event()
        stop_on_signals(stop)
        async with single_writer(warden):
            try:
                start = await until_stopped(warden.feed.prepare(from_serial, until_serial),
                                            stop)
                if start.notice:
                    err.print(plain(start.notice))
                await warden.ensure_critical_set()
                backfilled = (await until_stopped(backfill_critical(warden), stop)
                              if start.first_run else 0)
            except FeedUsageError as exc:
                raise fail(str(exc)) from None
            except FeedStopped:
                return {"events": 0, "batches": 0, "cursor": await warden.pipeline.cursor(),
                        "incidents": [], "by_kind": {}, "rejected": 0, "stopped": True,
                        "started": None, "backfilled": 0}
            result = await warden.feed.sync(until=until_serial, stop=stop)
        return {"events": result.events, "batches": result.batches, "cursor": result.cursor,
                "incidents": sorted(set(result.incidents)), "by_kind": result.by_kind,
                "rejected": result.rejected, "stopped": result.stopped,
                "started": start.notice, "backfilled": backfilled}

    summary = run_async(lambda: with_warden(settings, work, json_output=as_json))
    if as_json:
        out.print_json(json.dumps(summary))
        return
    if summary["backfilled"]:
        out.print(f"ledger filled for {summary['backfilled']} critical projects")
    out.print(f"stored {summary['events']} events in {summary['batches']} batches; "
              f"cursor at {summary['cursor']}; incidents touched: {len(summary['incidents'])}")
    if summary["rejected"]:
        out.print(f"set aside {summary['rejected']} entries the index sent that failed "
                  "validation (see the feed anomaly incident)")
    if summary["stopped"]:
        out.print("stopped on request; the next run resumes from the cursor")
    for kind, count in sorted(summary["by_kind"].items()):
        out.print(f"  {kind:<28} {count}")


@contextlib.asynccontextmanager
async def single_writer(warden: Warden) -> AsyncIterator[None]:
    """On SQLite, the lock `warden run` holds: one writing process per store.
    (PostgreSQL serializes feed passes on the cursor row; nothing to hold there.)"""
    if not is_sqlite(warden.settings.store.url):
        yield
        return
    lock = SQLiteFileLock(warden.settings.store.url)
    try:
        await lock.try_acquire()
    except SecondProcessOnSQLite as exc:
        raise fail(f"{exc}; stop it first, or let it follow the feed") from None
    try:
        yield
    finally:
        await lock.release()


async def backfill_critical(warden: Warden) -> int:
    """Fill the ledger of every critical project not yet synced, with a progress bar."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("ledger backfill", total=None)

        def progress(phase: str, done: int, total: int) -> None:
            bar.update(task, description=f"ledger backfill ({phase})", completed=done,
                       total=total)

        return await backfill_ledger(warden.sessions, warden.pipeline.tracked,
                                     warden.feed.feed, progress=progress)

