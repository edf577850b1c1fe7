"""The admin check every action passes, and the audit row of every refusal.

One check for every face: the CLI and the scheduler call the actions, which call the
gate; Slack's middleware calls the same gate to refuse a non-admin before a listener
runs. A refusal is audited exactly once, in a transaction of its own (the work it
refused does not happen).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions.errors import ActionError, NotAuthorized
from bot.audit import audit_alone

__all__ = ["Gate"]


class Gate:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], admins: Collection[str],
                 clock: Callable[[], datetime] | None = None) -> None:
        self.sessions = sessions
        self.admins = frozenset(admins)
        self.now = clock or (lambda: datetime.now(UTC))

    def is_admin(self, actor: str) -> bool:
        return actor in self.admins

    def why_not(self, actor: str) -> str:
        if not self.admins:
            return "no admins are configured (access.admins)"
        return f"{actor!r} is not an admin (access.admins)"

    async def refuse(self, error: ActionError, *, actor: str, action: str, target: str,
                     reason: str | None = None, incident_id: int | None = None,
                     **detail: Any) -> ActionError:
        """Audit the refusal (once) and give the error back for the caller to raise."""
        await audit_alone(self.sessions, self.now(), actor=actor or "unknown", action=action,
                          target=target, outcome="refused", reason=reason,
                          incident_id=incident_id, why=str(error), **detail)
        return error

    async def authorize(self, actor: str, action: str, target: str, **kw: Any) -> None:
        """Pass an admin; refuse (audited) anyone else."""
        if not self.is_admin(actor):
            raise await self.refuse(NotAuthorized(self.why_not(actor)), actor=actor,
                                    action=action, target=target, **kw)
