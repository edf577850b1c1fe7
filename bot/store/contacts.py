"""The contacts a project's metadata declares, kept in the ledger (issue 18).

`author_email` and `maintainer_email` of the JSON API's `info` (the latest release) are
free text: "Jane <jane@example.org>, bob@example.net" is common. Each address is kept
per project and field; the domain sweep falls back on them where it cannot read the
index's accounts, and every finding that uses them says it is a weaker signal.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import getaddresses
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.domain_models import ProjectContactEmail

MAX_ADDRESSES = 10  # per field: a list longer than this is not a contact, it is noise


class HasContacts(Protocol):
    @property
    def author_email(self) -> str | None: ...

    @property
    def maintainer_email(self) -> str | None: ...


def addresses(text: str | None) -> list[str]:
    """The addresses in a metadata field (RFC 5322 parsing by the standard library)."""
    if not text:
        return []
    found = [addr.strip().lower() for _, addr in getaddresses([text.replace(";", ",")])]
    return list(dict.fromkeys(
        a for a in found if a.count("@") == 1 and "." in a.partition("@")[2]))[:MAX_ADDRESSES]


async def keep_contacts(
    session: AsyncSession, project: str, facts: HasContacts, now: datetime
) -> None:
    """Replace the project's kept contacts with what its metadata says now."""
    await session.execute(sa.delete(ProjectContactEmail).where(
        ProjectContactEmail.project == project))
    rows = [{"project": project, "field": f"{field}:{n}", "email": address[:512], "seen_at": now}
            for field, text in (("author", facts.author_email),
                                ("maintainer", facts.maintainer_email))
            for n, address in enumerate(addresses(text))]
    if rows:
        await session.execute(sa.insert(ProjectContactEmail), rows)
