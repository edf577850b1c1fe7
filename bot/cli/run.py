"""`warden run`: the service — web endpoints, and the feed and schedule on the leader."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import (
    ConfigOption,
    IndexUrlOption,
    err,
    fail,
    run_async,
    settings_from,
    stop_on_signals,
    with_warden,
)
from bot.cli.plain import plain
from bot.config import masked
from bot.leader import SecondProcessOnSQLite
from bot.service import Service
from bot.wiring import Warden


def run(
    config: ConfigOption = None,
    index_url: IndexUrlOption = None,
    host: Annotated[str | None, typer.Option(help="Listen address (default: service.host).")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535,
                                             help="Listen port (default: service.port).")] = None,
) -> None:
    """Run the bot: Slack at POST /slack/events, GET /healthz, /readyz, /metrics; the leader
    replica follows the changelog and runs the schedule.

    Ctrl-C or SIGTERM finishes the batch in flight, commits it with the cursor, and
    exits 0. Several replicas may share one PostgreSQL store; SQLite is single-process.
    """
    settings = settings_from(config, **({"index": {"url": index_url}} if index_url else {}))

    async def work(warden: Warden) -> None:
        service = Service(warden, host or settings.service.host,
                          settings.service.port if port is None else port)
        stop_on_signals(service.stop)
        err.print(plain(f"following {settings.index.url} (store {masked(settings)['store']['url']}); "
                        f"listening on {service.host}:{service.port}; Ctrl-C to stop"))
        await service.run()
        err.print(plain(f"stopped at serial {await warden.pipeline.cursor()}"))

    try:
        run_async(lambda: with_warden(settings, work))
    except SecondProcessOnSQLite as exc:
        raise fail(str(exc)) from None
