"""`warden db`: the bot's own database."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import ConfigOption, out, run_async, settings_from
from bot.cli.plain import plain
from bot.config import masked
from bot.store.connect import open_store
from bot.store.migrate import upgrade as alembic_upgrade

app = typer.Typer(
    help="The bot's own database (SQLite by default, PostgreSQL by URL).", no_args_is_help=True
)


@app.command("upgrade")
def upgrade(
    config: ConfigOption = None,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads",
) -> None:
    """Create the database schema, or migrate it to the latest revision (Alembic)."""
    settings = settings_from(config)

    async def reachable() -> None:  # a clear message (exit 2) rather than Alembic's traceback
        await (await open_store(settings.store.url)).dispose()

    run_async(reachable)
    alembic_upgrade(settings.store.url, revision)
    out.print(plain(f"database at {masked(settings)['store']['url']} is at revision {revision}"))
