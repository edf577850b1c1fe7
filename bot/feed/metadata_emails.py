"""The fallback without access to the index's database: addresses from package metadata.

A devpi admin, or anyone without a Warehouse replica, still gets the domain sweep: the
`author_email` / `maintainer_email` the ledger keeps for each project (bot/store/contacts)
are attached to the accounts holding a role on it, as emails with source "metadata".
They are nobody's verified address, only what a release declared: the sweep treats them
as in scope, and every finding that uses one says it is a weaker signal.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store.domain_models import ProjectContactEmail
from bot.store.models import Email, Project, Role

SOURCE = "metadata"


async def use_metadata_emails(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Attach each project's declared contacts to its role holders; returns addresses in use."""
    async with sessions.begin() as session:
        wanted = {(account_id, email.lower()) for account_id, email in (await session.execute(
            sa.select(Role.account_id, ProjectContactEmail.email)
            .join(Project, Project.id == Role.project_id)
            .join(ProjectContactEmail, ProjectContactEmail.project == Project.normalized_name)
            .where(Role.removed_at.is_(None)))).all()}
        existing = {(e.account_id, e.email.lower()): e for e in (await session.execute(
            sa.select(Email))).scalars()}
        for key in sorted(wanted):
            row = existing.get(key)
            if row is None:
                session.add(Email(account_id=key[0], email=key[1], source=SOURCE, verified=True,
                                  verified_at=None))
            elif row.source == SOURCE:
                row.verified = True
        for key, row in existing.items():  # no longer declared: out of the sweep
            if row.source == SOURCE and key not in wanted:
                row.verified = False
    return len(wanted)
