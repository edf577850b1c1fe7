"""The admins' allowlist of legitimate look-alike pairs, kept in the store and audited.

`add_false_positive` is what an admin's "false positive" (Slack button or
`warden typosquat allow`) calls: it records the pair and an audit entry in the caller's
transaction. The actor check belongs to the caller (the actions layer); `require_admin`
is the check the CLI uses until then, auditing refusals too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import access
from bot.plaintext import reveal
from bot.store.models import AuditEntry
from bot.store.typosquat_models import TyposquatAllow
from detectors.typosquat.names import InvalidName, Name, describe_hidden, hidden_in, parse_name

ACTION = "typosquat.false_positive"


def allowable(raw: str) -> Name:
    """`raw` parsed, if a pair with it may be allowlisted; raises InvalidName otherwise
    (not a project name, or one holding invisible characters: never legitimate)."""
    name = parse_name(raw)
    if hidden := hidden_in(name.folded):
        raise InvalidName(f"`{reveal(name.raw)}` holds invisible characters "
                          f"({describe_hidden(hidden)}): never a legitimate project name")
    return name


async def add_false_positive(
    session: AsyncSession, candidate: str, target: str, actor: str, reason: str, *,
    incident_id: int | None = None, now: datetime | None = None,
) -> TyposquatAllow:
    """Allowlist (candidate, target) and audit it; idempotent (a repeat is audited too).

    Raises InvalidName for a name that cannot be a project name (or holds invisible
    characters: never a legitimate one), ValueError for an empty actor or reason.
    """
    cand, targ = allowable(candidate).canonical, allowable(target).canonical
    if not actor.strip() or not reason.strip():
        raise ValueError("an actor and a reason are required")
    now = now or datetime.now(UTC)
    row = (await session.execute(select(TyposquatAllow).where(
        TyposquatAllow.candidate == cand, TyposquatAllow.target == targ
    ))).scalar_one_or_none()
    created = row is None
    if row is None:
        row = TyposquatAllow(candidate=cand, target=targ, reason=reason, actor=actor,
                             created_at=now, incident_id=incident_id)
        session.add(row)
    session.add(AuditEntry(
        at=now, actor=actor, action=ACTION, target=f"project:{cand}", outcome="done",
        reason=reason, incident_id=incident_id,
        detail={"candidate": cand, "target": targ, "created": created},
    ))
    await session.flush()
    return row


async def require_admin(
    sessions: async_sessionmaker[AsyncSession], admins: Sequence[str], actor: str,
    candidate: str, reason: str,
) -> None:
    """Refuse unless `actor` is in access.admins; a refusal is audited (and committed, in
    its own transaction, since the caller's work will not happen)."""
    await access.require_admin(sessions, admins, actor, ACTION,
                               f"project:{parse_name(candidate).canonical}", reason)


async def is_allowed(session: AsyncSession, candidate: str, target: str) -> bool:
    """Is the (canonical) pair allowlisted, or the candidate allowed with any target?"""
    found = (await session.execute(
        select(TyposquatAllow.id).where(
            TyposquatAllow.candidate == candidate,
            or_(TyposquatAllow.target == target, TyposquatAllow.target == "*"),
        ).limit(1)
    )).scalar_one_or_none()
    return found is not None


async def list_allowed(session: AsyncSession) -> list[TyposquatAllow]:
    rows = await session.execute(
        select(TyposquatAllow).order_by(TyposquatAllow.candidate, TyposquatAllow.target)
    )
    return list(rows.scalars())
