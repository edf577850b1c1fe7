"""The typosquat allowlist by an admin's word, through the door (audited)."""

from __future__ import annotations

from bot.actions.base import DoorBase
from bot.actions.errors import InvalidState
from bot.audit import audit
from detectors.typosquat.allowlist import add_false_positive, allowable
from detectors.typosquat.names import InvalidName

__all__ = ["AllowlistActions"]


class AllowlistActions(DoorBase):
    async def allow(self, candidate: str, target: str, actor: str, reason: str, *,
                    via: str = "cli") -> bool:
        """Mark a look-alike pair as legitimate: never flagged again. True if new."""
        action = "typosquat.false_positive"
        where = f"project:{candidate[:200]}"
        await self.gate.authorize(actor, action, where, reason=reason, via=via)
        try:
            cand, targ = allowable(candidate).canonical, allowable(target).canonical
        except InvalidName as exc:
            raise await self.gate.refuse(InvalidState(str(exc)), actor=actor, action=action,
                                         target=where, reason=reason, via=via) from None
        if not reason.strip():
            raise await self.gate.refuse(InvalidState("a reason is required"), actor=actor,
                                         action=action, target=where, via=via)
        now = self.gate.now()
        async with self.sessions.begin() as session:
            created = await add_false_positive(session, cand, targ, actor, reason, now=now)
            audit(session, now, actor=actor, action=action, target=f"project:{cand}",
                  outcome="done", reason=reason, candidate=cand, protected=targ,
                  created=created, via=via)
        return created
