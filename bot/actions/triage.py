"""Incident triage through the door: acknowledge, assign, resolve, false positive, reopen.

The same calls serve Slack's buttons and `warden incidents ack|assign|resolve|
false-positive|reopen`. Each is checked against `access.admins` and audited once, a
refusal included; status changes go through bot.incidents.transition, so the timeline
and the outbox (console, Slack) follow. "False positive" on a typosquat incident also
allowlists the (candidate, target) pair.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions.base import DoorBase
from bot.actions.errors import ActionError, InvalidState, NotFound
from bot.audit import audit
from bot.incidents import Status, TransitionError, get_incident, transition
from bot.notify.outbox import enqueue
from bot.store.models import Incident, TimelineEntry

__all__ = ["TriageActions", "typosquat_pair"]

VERBS = {Status.ACKNOWLEDGED: "acknowledge", Status.RESOLVED: "resolve",
         Status.FALSE_POSITIVE: "false_positive", Status.MITIGATED: "mitigate",
         Status.OPEN: "reopen"}


def typosquat_pair(incident: Incident) -> tuple[str, str] | None:
    """(candidate, target) of a typosquat incident, from its evidence."""
    if incident.kind != "typosquat":
        return None
    for item in incident.evidence:
        data = item.get("data") if isinstance(item, dict) else None
        if isinstance(data, dict) and data.get("candidate") and data.get("target"):
            return str(data["candidate"]), str(data["target"])
    return None


class _Refused(Exception):
    """Raised inside the transaction, so that it rolls back; audited after."""

    def __init__(self, error: ActionError) -> None:
        super().__init__(str(error))
        self.error = error


class TriageActions(DoorBase):
    async def acknowledge(self, incident_id: int, actor: str, note: str | None = None,
                          *, via: str = "cli") -> dict[str, Any]:
        return await self.change_status(incident_id, Status.ACKNOWLEDGED, actor, note, via=via)

    async def resolve(self, incident_id: int, actor: str, note: str | None = None,
                      *, via: str = "cli") -> dict[str, Any]:
        return await self.change_status(incident_id, Status.RESOLVED, actor, note, via=via)

    async def false_positive(self, incident_id: int, actor: str, note: str | None = None,
                             *, via: str = "cli") -> dict[str, Any]:
        return await self.change_status(incident_id, Status.FALSE_POSITIVE, actor, note,
                                        via=via)

    async def reopen(self, incident_id: int, actor: str, note: str | None = None,
                     *, via: str = "cli") -> dict[str, Any]:
        return await self.change_status(incident_id, Status.OPEN, actor, note, via=via)

    async def change_status(self, incident_id: int, to: Status, actor: str,
                            note: str | None = None, *, via: str = "cli") -> dict[str, Any]:
        """Move the incident to `to`; returns what else was done (the allowlist entry)."""
        action, target = f"incident.{VERBS.get(to, to.value)}", f"incident:{incident_id}"
        await self.gate.authorize(actor, action, target, reason=note, via=via)
        now = self.gate.now()
        try:
            async with self.sessions.begin() as s:
                incident = await self._incident(s, incident_id)
                try:
                    await transition(s, incident, to, actor, now, self.notifiers, note=note)
                except TransitionError as exc:
                    raise _Refused(InvalidState(str(exc))) from None
                extra = (await self._allowlist(s, incident, actor, note or "false positive")
                         if to is Status.FALSE_POSITIVE else {})
                audit(s, now, actor=actor, action=action, target=target, outcome="done",
                      reason=note, incident_id=incident_id, via=via, **extra)
        except _Refused as refused:
            raise await self._refused(refused, actor, action, incident_id, note, via) from None
        return extra

    async def assign(self, incident_id: int, assignee: str, actor: str, *, via: str = "cli"
                     ) -> None:
        action, target = "incident.assign", f"incident:{incident_id}"
        await self.gate.authorize(actor, action, target, via=via)
        now = self.gate.now()
        try:
            async with self.sessions.begin() as s:
                incident = await self._incident(s, incident_id)
                if Status(incident.status).closed:
                    raise _Refused(InvalidState(
                        f"incident {incident_id} is {incident.status}; nothing to assign"))
                if incident.assignee == assignee:
                    raise _Refused(InvalidState(
                        f"incident {incident_id} is already assigned to {assignee}"))
                previous, incident.assignee, incident.updated_at = (incident.assignee, assignee,
                                                                    now)
                incident.timeline.append(TimelineEntry(
                    at=now, actor=actor, action="assigned",
                    detail={"assignee": assignee, "previous": previous}))
                await s.flush()
                await enqueue(s, incident, "incident.updated", now, self.notifiers,
                              f"assignee {previous or '-'} -> {assignee} by {actor}")
                audit(s, now, actor=actor, action=action, target=target, outcome="done",
                      incident_id=incident_id, assignee=assignee, previous=previous, via=via)
        except _Refused as refused:
            raise await self._refused(refused, actor, action, incident_id, None, via) from None

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    async def _incident(s: AsyncSession, incident_id: int) -> Incident:
        incident = await get_incident(s, incident_id)
        if incident is None:
            raise _Refused(NotFound(f"no incident #{incident_id}"))
        return incident

    async def _refused(self, refused: _Refused, actor: str, action: str, incident_id: int,
                       note: str | None, via: str) -> ActionError:
        async with self.sessions() as s:
            exists = await s.get(Incident, incident_id) is not None
        return await self.gate.refuse(refused.error, actor=actor, action=action,
                                      target=f"incident:{incident_id}", reason=note,
                                      incident_id=incident_id if exists else None, via=via)

    @staticmethod
    async def _allowlist(s: AsyncSession, incident: Incident, actor: str, note: str
                         ) -> dict[str, Any]:
        pair = typosquat_pair(incident)
        if pair is None:
            return {}
        from detectors.typosquat.allowlist import add_false_positive  # only for typosquats

        try:
            created = await add_false_positive(s, pair[0], pair[1], actor, note,
                                               incident_id=incident.id)
        except ValueError as exc:  # InvalidName: nothing the index could ever flag again
            return {"allowlisted": False, "why": str(exc)}
        return {"allowlisted": True, "candidate": pair[0], "protected": pair[1],
                "created": created}
