"""The embedded default notifier: incidents printed to the terminal with rich."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

_STYLE = {"critical": "bold white on red", "high": "bold red", "warning": "yellow", "info": "cyan"}


class ConsoleNotifier:
    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=False, highlight=False)

    async def deliver(self, kind: str, payload: dict[str, Any]) -> None:
        severity = str(payload.get("severity", "info"))
        verb = "NEW" if kind == "incident.opened" else "UPDATE"
        style = _STYLE.get(severity, "")
        self.console.print(
            f"[{style}]{severity.upper():>8}[/] {verb} incident #{payload.get('incident_id')} "
            f"[{escape(str(payload.get('status')))}] {escape(str(payload.get('summary')))}"
            f" (x{payload.get('occurrences', 1)})"
        )
        playbooks = payload.get("playbooks") or []
        if playbooks and kind == "incident.opened":
            self.console.print(f"         playbooks: {escape(', '.join(map(str, playbooks)))}")
