"""The embedded default notifier: incidents printed to the terminal with rich."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from bot.plaintext import reveal

_STYLE = {"critical": "bold white on red", "high": "bold red", "warning": "yellow", "info": "cyan"}


def _plain(value: object) -> Text:
    """A payload value as inert text: summaries quote the index, RDAP servers and the
    like, so no rich markup is read in them and hidden characters are escaped."""
    return Text(reveal(str(value)))


class ConsoleNotifier:
    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=False, highlight=False)

    async def deliver(self, kind: str, payload: dict[str, Any]) -> None:
        severity = str(payload.get("severity", "info"))
        verb = "NEW" if kind == "incident.opened" else "UPDATE"
        line = Text(f"{reveal(severity.upper()):>8}", style=_STYLE.get(severity, ""))
        # An update says what changed first: the rest of the line repeats the incident.
        change = f" {payload['change']}:" if payload.get("change") else ""
        line.append_text(_plain(f" {verb} incident #{payload.get('incident_id')} "
                                f"[{payload.get('status')}]{change} {payload.get('summary')}"
                                f" (x{payload.get('occurrences', 1)})"))
        self.console.print(line)
        playbooks = payload.get("playbooks") or []
        if playbooks and kind == "incident.opened":
            self.console.print(_plain(f"         playbooks: {', '.join(map(str, playbooks))}"))
