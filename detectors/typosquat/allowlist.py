"""The admins' allowlist of legitimate look-alike pairs, kept in the store.

`add_false_positive` is what an admin's "false positive" (Slack button or
`warden typosquat allow`) comes to, through the actions layer (bot.actions), which
checks the actor and writes the audit row in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.plaintext import reveal
from bot.store.typosquat_models import TyposquatAllow
from detectors.typosquat.names import InvalidName, Name, describe_hidden, hidden_in, parse_name


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
) -> bool:
    """Allowlist (candidate, target); idempotent. True when the pair is new.

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
    if row is not None:
        return False
    session.add(TyposquatAllow(candidate=cand, target=targ, reason=reason, actor=actor,
                               created_at=now, incident_id=incident_id))
    await session.flush()
    return True


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
