"""The audit log's one writer: every admin action, refusals included, leaves one row here.

`audit()` adds a row to the caller's transaction (the change and its record commit
together); `audit_alone()` commits one on its own, for a refusal, whose caller's
transaction does not happen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store.models import AuditEntry

__all__ = ["audit", "audit_alone"]


def audit(session: AsyncSession, at: datetime, *, actor: str, action: str, target: str,
          outcome: str, reason: str | None = None, incident_id: int | None = None,
          approver: str | None = None, **detail: Any) -> None:
    """Add one audit row (outcome: requested, approved, started, done, refused, failed...)."""
    session.add(AuditEntry(at=at, actor=actor, action=action, target=target, outcome=outcome,
                           reason=reason, incident_id=incident_id, approver=approver,
                           detail=detail))


async def audit_alone(sessions: async_sessionmaker[AsyncSession], at: datetime, **row: Any
                      ) -> None:
    """`audit()` in a transaction of its own (callers hold no connection meanwhile)."""
    async with sessions.begin() as session:
        audit(session, at, **row)
