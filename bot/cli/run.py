"""`warden run`: follow the changelog until stopped."""

from __future__ import annotations

import asyncio

from bot.cli.common import (
    ConfigOption,
    IndexUrlOption,
    err,
    run_async,
    settings_from,
    stop_on_signals,
    with_warden,
)
from bot.config import masked
from bot.wiring import Warden


def run(config: ConfigOption = None, index_url: IndexUrlOption = None) -> None:
    """Follow the index's changelog and raise incidents until stopped.

    Polls every feed.poll_interval_seconds; Ctrl-C or SIGTERM finishes the batch in
    flight, commits it with the cursor, and exits 0.
    """
    settings = settings_from(config, **({"index": {"url": index_url}} if index_url else {}))

    async def work(warden: Warden) -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await warden.ensure_critical_set()
        err.print(f"following {settings.index.url} (store {masked(settings)['store']['url']}); "
                  "Ctrl-C to stop")
        await warden.feed.run_forever(stop, settings.feed.poll_interval_seconds)
        err.print(f"stopped at serial {await warden.pipeline.cursor()}")

    run_async(lambda: with_warden(settings, work))
