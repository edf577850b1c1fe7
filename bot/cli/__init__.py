"""The `warden` command line: a thin face on the same calls Slack and the service use.

Each command group lives in its own module and is registered here.
"""

from __future__ import annotations

import typer

from bot.cli import (
    config_cmd,
    confusion,
    critical,
    db,
    demo,
    devpi,
    domain,
    feed,
    incidents,
    ledger,
    playbooks,
    reports,
    respond,
    run,
    typosquat,
)

app = typer.Typer(
    name="warden",
    help="index-warden: incident response for the admins of a Python package index.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("demo")(demo.demo)
app.command("run")(run.run)
app.add_typer(db.app, name="db")
app.add_typer(feed.app, name="feed")
app.add_typer(incidents.app, name="incidents")
app.add_typer(ledger.app, name="ledger")
app.add_typer(critical.app, name="critical")
app.add_typer(typosquat.app, name="typosquat")
app.add_typer(domain.app, name="domain")
app.add_typer(playbooks.app, name="playbook")
respond.register(app)
app.add_typer(config_cmd.app, name="config")
app.add_typer(devpi.app, name="devpi")
app.add_typer(confusion.app, name="confusion")
app.add_typer(reports.app, name="reports")
