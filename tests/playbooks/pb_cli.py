"""`warden` with the playbook commands registered as bot/cli/__init__.py registers them
(``python tests/playbooks/pb_cli.py restore ...``), for tests that run it as a process."""

from __future__ import annotations

from bot.cli import app, playbooks, respond

if "restore" not in {c.name for c in app.registered_commands}:
    respond.register(app)
    app.add_typer(playbooks.app, name="playbook")

if __name__ == "__main__":
    app()
