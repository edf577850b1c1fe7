"""Incident lifecycle: findings become incidents, deduplicated by a stable key.

open → acknowledged → mitigated → resolved / false_positive, and only forward: a stale
click never moves an incident back. The one way back is an explicit reopen (to open),
from mitigated or closed. An incident is *open* (ACTIVE) until it is resolved or marked
a false positive: open, acknowledged and mitigated all count, in every face. While it is,
a finding with the same key updates it (and its timeline) instead of opening another;
every change leaves through the outbox in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.metrics import INCIDENTS_OPENED
from bot.notify.outbox import enqueue
from bot.store.models import Incident, TimelineEntry
from bot.types import Finding, Severity


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"

    @property
    def closed(self) -> bool:
        return self in (Status.RESOLVED, Status.FALSE_POSITIVE)


_ALLOWED: dict[Status, set[Status]] = {
    Status.OPEN: {Status.ACKNOWLEDGED, Status.MITIGATED, Status.RESOLVED, Status.FALSE_POSITIVE},
    Status.ACKNOWLEDGED: {Status.MITIGATED, Status.RESOLVED, Status.FALSE_POSITIVE},
    Status.MITIGATED: {Status.RESOLVED, Status.FALSE_POSITIVE, Status.OPEN},
    Status.RESOLVED: {Status.OPEN},
    Status.FALSE_POSITIVE: {Status.OPEN},
}
_STAGE = {Status.OPEN: 0, Status.ACKNOWLEDGED: 1, Status.MITIGATED: 2, Status.RESOLVED: 3,
          Status.FALSE_POSITIVE: 3}
# "Open" in every face (CLI, Slack): not resolved, not a false positive.
ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED, Status.MITIGATED)

MAX_EVIDENCE = 200  # an incident that keeps repeating must not grow without bound


class TransitionError(ValueError):
    pass


def _timeline(incident: Incident, at: datetime, actor: str, action: str, **detail: object) -> None:
    incident.timeline.append(TimelineEntry(at=at, actor=actor, action=action, detail=detail))


async def record_finding(
    session: AsyncSession, finding: Finding, now: datetime, notifiers: Sequence[str]
) -> Incident:
    """Open an incident for `finding`, or update the active one with the same key."""
    key = finding.dedup_key()
    evidence = [e.as_dict() for e in finding.evidence]
    incident = (
        await session.execute(select(Incident).where(Incident.open_key == key))
    ).scalar_one_or_none()
    if incident is None:
        incident = Incident(
            dedup_key=key, open_key=key, detector=finding.detector, kind=finding.kind,
            subject=finding.subject, severity=finding.severity.value, status=Status.OPEN.value,
            summary=finding.summary, evidence=evidence[:MAX_EVIDENCE],
            playbooks=list(finding.playbooks), occurrences=1, created_at=now, updated_at=now,
            timeline=[],
        )
        _timeline(incident, now, "warden", "opened", severity=finding.severity.value)
        session.add(incident)
        INCIDENTS_OPENED.labels(finding.detector, finding.severity.value).inc()
        await session.flush()
        await enqueue(session, incident, "incident.opened", now, notifiers)
        return incident

    await session.refresh(incident, ["timeline"])
    incident.occurrences += 1
    incident.updated_at = now
    seen = {(e.get("serial"), e.get("summary")) for e in incident.evidence}
    fresh = [e for e in evidence if (e["serial"], e["summary"]) not in seen]
    incident.evidence = (incident.evidence + fresh)[-MAX_EVIDENCE:]
    incident.playbooks = sorted(set(incident.playbooks) | set(finding.playbooks))
    change = f"seen again (x{incident.occurrences - 1} -> x{incident.occurrences})"
    if finding.severity.rank > Severity(incident.severity).rank:
        change = f"severity {incident.severity} -> {finding.severity.value}"
        _timeline(
            incident, now, "warden", "escalated",
            previous=incident.severity, severity=finding.severity.value, summary=finding.summary,
        )
        incident.severity = finding.severity.value
        incident.summary = finding.summary
        incident.kind = finding.kind  # a grouped incident is named by its worst finding
    else:
        _timeline(incident, now, "warden", "repeated", summary=finding.summary)
    await session.flush()
    await enqueue(session, incident, "incident.updated", now, notifiers, change)
    return incident


async def transition(
    session: AsyncSession, incident: Incident, to: Status, actor: str, now: datetime,
    notifiers: Sequence[str], note: str | None = None,
) -> None:
    current = Status(incident.status)
    if to not in _ALLOWED[current]:
        back = _STAGE[to] < _STAGE[current]
        raise TransitionError(f"incident {incident.id} is {current}; cannot become {to}"
                              + (" (reopen it first)" if back else ""))
    if to is Status.OPEN and current.closed:
        taken = (await session.execute(select(Incident.id).where(
            Incident.open_key == incident.dedup_key))).scalar_one_or_none()
        if taken is not None:
            raise TransitionError(f"incident {taken} is open for the same subject; "
                                  f"incident {incident.id} stays {current}")
    await session.refresh(incident, ["timeline"])
    incident.status = to.value
    incident.updated_at = now
    if to.closed:
        incident.open_key = None
        incident.closed_at = now
    elif current.closed:  # reopened: findings with its key update it again
        incident.open_key, incident.closed_at = incident.dedup_key, None
    _timeline(incident, now, actor, "status", status=to.value, previous=current.value, note=note)
    await session.flush()
    await enqueue(session, incident, "incident.updated", now, notifiers,
                  f"status {current.value} -> {to.value} by {actor}")


async def list_incidents(
    session: AsyncSession, statuses: Sequence[Status] | None = None, limit: int = 100
) -> list[Incident]:
    query = select(Incident).order_by(Incident.id.desc()).limit(limit)
    if statuses:
        query = query.where(Incident.status.in_([s.value for s in statuses]))
    return list((await session.execute(query)).scalars())


async def get_incident(session: AsyncSession, incident_id: int) -> Incident | None:
    incident = await session.get(Incident, incident_id)
    if incident is not None:
        await session.refresh(incident, ["timeline"])
    return incident
