"""The Notifier protocol: one delivery target (console, Slack)."""

from __future__ import annotations

from typing import Any, Protocol


class DeliveryError(Exception):
    """Delivery failed in a way worth retrying later (the message stays in the outbox)."""


class Notifier(Protocol):
    name: str

    async def deliver(self, kind: str, payload: dict[str, Any]) -> None: ...
