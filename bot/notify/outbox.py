"""The outbox: notifications written in the same transaction as what caused them.

A crash after commit and before delivery leaves the message here for the next run;
a crash before commit leaves neither the incident nor its message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.metrics import DELIVERIES
from bot.notify.base import DeliveryError, Notifier
from bot.store.models import Incident, OutboxMessage

MAX_BACKOFF = timedelta(minutes=10)


def incident_payload(incident: Incident, change: str = "") -> dict[str, Any]:
    """What a notifier is told; ``change`` says what an update changed (old -> new)."""
    return {
        "incident_id": incident.id,
        "kind": incident.kind,
        "detector": incident.detector,
        "subject": incident.subject,
        "severity": incident.severity,
        "status": incident.status,
        "summary": incident.summary,
        "occurrences": incident.occurrences,
        "assignee": incident.assignee,
        "playbooks": list(incident.playbooks),
        "evidence": list(incident.evidence[-5:]),
        "change": change,
    }


async def enqueue(
    session: AsyncSession, incident: Incident, kind: str, now: datetime, notifiers: Sequence[str],
    change: str = "",
) -> None:
    payload = incident_payload(incident, change)
    for name in notifiers:
        session.add(
            OutboxMessage(
                notifier=name, incident_id=incident.id, kind=kind, payload=payload,
                created_at=now, next_attempt_at=now,
            )
        )


async def deliver_pending(
    sessions: async_sessionmaker[AsyncSession],
    notifiers: Mapping[str, Notifier],
    now: datetime,
    limit: int = 500,
) -> int:
    """Deliver what is due, oldest first; failures are rescheduled with backoff."""
    delivered = 0
    async with sessions.begin() as session:
        due = (
            await session.execute(
                select(OutboxMessage)
                .where(
                    OutboxMessage.delivered_at.is_(None),
                    OutboxMessage.notifier.in_(list(notifiers)),
                    or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
        ).scalars()
        for message in due:
            message.attempts += 1
            try:
                await notifiers[message.notifier].deliver(message.kind, message.payload)
            except DeliveryError as exc:
                delay = min(timedelta(seconds=2 ** min(message.attempts, 10)), MAX_BACKOFF)
                message.next_attempt_at = now + delay
                DELIVERIES.labels(message.notifier, "retry").inc()
                message.last_error = str(exc)[:2000]
                continue
            message.delivered_at = now
            DELIVERIES.labels(message.notifier, "delivered").inc()
            delivered += 1
    return delivered
