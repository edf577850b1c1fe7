"""`python -m bot` is the same as the `warden` command."""

from bot.cli import app

app(prog_name="warden")
