"""`warden config`: the effective configuration."""

from __future__ import annotations

import json

import typer

from bot.cli.common import ConfigOption, JsonOption, out, settings_from
from bot.cli.plain import plain
from bot.config import masked

app = typer.Typer(help="The effective configuration.", no_args_is_help=True)


@app.command("show")
def show(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Print the effective settings (file + environment + defaults), secrets masked."""
    data = masked(settings_from(config))
    if as_json:
        out.print_json(json.dumps(data))
        return
    for section, values in data.items():
        out.print(f"[bold]\\[{section}][/]")
        for key, value in values.items():
            out.print(plain(f"{key} = {json.dumps(value)}"))
        out.print()
