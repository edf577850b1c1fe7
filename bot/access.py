"""The admin check for actions outside the playbook door (critical set, allowlist)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store.models import AuditEntry


class NotAuthorized(PermissionError):
    pass


async def require_admin(
    sessions: async_sessionmaker[AsyncSession], admins: Sequence[str], actor: str, action: str,
    target: str, reason: str | None,
) -> None:
    """Refuse unless `actor` is in access.admins; a refusal is audited (and committed, in
    its own transaction, since the caller's work will not happen)."""
    if actor in admins:
        return
    async with sessions.begin() as session:
        session.add(AuditEntry(at=datetime.now(UTC), actor=actor, action=action, target=target,
                               outcome="refused", reason=reason,
                               detail={"why": "not in access.admins"}))
    raise NotAuthorized(f"{actor!r} is not in access.admins; the attempt was audited")
