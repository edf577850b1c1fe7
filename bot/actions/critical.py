"""The critical set by an admin's word, through the door: add, remove (each audited)."""

from __future__ import annotations

from bot.actions.base import DoorBase
from bot.audit import audit
from bot.critical import mark_critical, unmark_critical
from bot.names import canonicalize
from bot.store.models import Project

__all__ = ["CriticalActions"]


class CriticalActions(DoorBase):
    async def add_critical(self, name: str, actor: str, reason: str, *, via: str = "cli"
                           ) -> Project:
        """Mark a project critical (also lifting an earlier removal)."""
        action, target = "critical.add", f"project:{canonicalize(name)}"
        await self.gate.authorize(actor, action, target, reason=reason, via=via)
        now = self.gate.now()
        async with self.sessions.begin() as session:
            project = await mark_critical(session, self.tracked, name, actor, reason, now)
            audit(session, now, actor=actor, action=action, target=target, outcome="done",
                  reason=reason, via=via)
        return project

    async def remove_critical(self, name: str, actor: str, reason: str, *, via: str = "cli"
                              ) -> bool:
        """Take a project out of the critical set; recomputes will not add it back."""
        action, target = "critical.remove", f"project:{canonicalize(name)}"
        await self.gate.authorize(actor, action, target, reason=reason, via=via)
        now = self.gate.now()
        async with self.sessions.begin() as session:
            removed = await unmark_critical(session, name, reason, now)
            audit(session, now, actor=actor, action=action, target=target,
                  outcome="done" if removed else "noop", reason=reason, via=via)
        return removed
