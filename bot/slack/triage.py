"""Incident triage from Slack: acknowledge, assign, resolve, false positive.

Each attempt is checked against `access.admins` and audited, refusals included (a
refusal is committed on its own, since the change it asked for is rolled back). Status
changes go through bot.incidents.transition, so the timeline and the outbox follow.
"False positive" on a typosquat incident also allowlists the (candidate, target) pair.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.incidents import Status, TransitionError, get_incident, transition
from bot.notify.outbox import enqueue
from bot.store.models import Incident, TimelineEntry
from playbooks.runs import audit

__all__ = ["TriageError", "assign", "change_status", "typosquat_pair"]

VERBS = {Status.ACKNOWLEDGED: "acknowledge", Status.RESOLVED: "resolve",
         Status.FALSE_POSITIVE: "false_positive", Status.MITIGATED: "mitigate"}


class TriageError(Exception):
    """Refused or impossible; str(err) is the message for the admin (already audited)."""


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
    pass


async def _refuse(sessions: async_sessionmaker[AsyncSession], now: datetime, actor: str,
                  action: str, incident_id: int, why: str, note: str | None) -> TriageError:
    """Audit a refusal in a transaction of its own (the caller's was rolled back and has
    given its connection back: never hold one connection while waiting for another)."""
    async with sessions.begin() as s:
        exists = await s.get(Incident, incident_id) is not None
        audit(s, now, actor=actor, action=action, target=f"incident:{incident_id}",
              outcome="refused", reason=note, incident_id=incident_id if exists else None,
              why=why, via="slack")
    return TriageError(why)


async def _load(s: AsyncSession, actor: str, incident_id: int,
                admins: Collection[str]) -> Incident:
    if actor not in admins:
        raise _Refused(f"{actor} is not an admin (access.admins)")
    incident = await get_incident(s, incident_id)
    if incident is None:
        raise _Refused(f"no incident #{incident_id}")
    return incident


async def _allowlist(s: AsyncSession, incident: Incident, actor: str, note: str,
                     now: datetime) -> dict[str, Any]:
    pair = typosquat_pair(incident)
    if pair is None:
        return {}
    try:
        from detectors.typosquat.allowlist import add_false_positive
    except ImportError:  # the typosquat area is optional in a deployment
        return {"allowlisted": False, "why": "typosquat allowlist not available"}
    try:
        await add_false_positive(s, pair[0], pair[1], actor, note, incident_id=incident.id, now=now)
    except ValueError as exc:  # InvalidName: nothing the index could ever flag again
        return {"allowlisted": False, "why": str(exc)}
    return {"allowlisted": True, "candidate": pair[0], "protected": pair[1]}


async def change_status(sessions: async_sessionmaker[AsyncSession], notifiers: Sequence[str],
                        admins: Collection[str], incident_id: int, to: Status, actor: str,
                        now: datetime, note: str | None = None) -> dict[str, Any]:
    """Move the incident to `to`; returns what else was done (the allowlist entry)."""
    action = f"incident.{VERBS.get(to, to.value)}"
    try:
        async with sessions.begin() as s:
            incident = await _load(s, actor, incident_id, admins)
            await transition(s, incident, to, actor, now, notifiers, note=note)
            extra = await _allowlist(s, incident, actor, note or "false positive", now) \
                if to is Status.FALSE_POSITIVE else {}
            audit(s, now, actor=actor, action=action, target=f"incident:{incident_id}",
                  outcome="done", reason=note, incident_id=incident_id, via="slack", **extra)
    except (_Refused, TransitionError) as exc:
        raise await _refuse(sessions, now, actor, action, incident_id, str(exc), note) from None
    return extra


async def assign(sessions: async_sessionmaker[AsyncSession], notifiers: Sequence[str],
                 admins: Collection[str], incident_id: int, assignee: str, actor: str,
                 now: datetime) -> None:
    action = "incident.assign"
    try:
        async with sessions.begin() as s:
            incident = await _load(s, actor, incident_id, admins)
            if Status(incident.status).closed:
                raise _Refused(f"incident {incident_id} is {incident.status}; nothing to assign")
            if incident.assignee == assignee:
                raise _Refused(f"incident {incident_id} is already assigned to {assignee}")
            previous, incident.assignee, incident.updated_at = incident.assignee, assignee, now
            incident.timeline.append(TimelineEntry(
                at=now, actor=actor, action="assigned",
                detail={"assignee": assignee, "previous": previous}))
            await s.flush()
            await enqueue(s, incident, "incident.updated", now, notifiers)
            audit(s, now, actor=actor, action=action, target=f"incident:{incident_id}",
                  outcome="done", incident_id=incident_id, assignee=assignee, previous=previous,
                  via="slack")
    except _Refused as exc:
        raise await _refuse(sessions, now, actor, action, incident_id, str(exc), None) from None
