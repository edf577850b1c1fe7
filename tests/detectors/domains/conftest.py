"""Fixtures for the domain tests: the network doubles, settings pointing at them, a seeded store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.netdoubles import NetDoubles, RdapDouble
from bot.store.db import create_engine, session_factory
from bot.store.models import Account, Email, Project, Role
from detectors.domains.settings import DomainsSection

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
async def doubles() -> AsyncIterator[NetDoubles]:
    started = await NetDoubles().start()
    yield started
    await started.stop()


@pytest.fixture
async def victim() -> AsyncIterator[RdapDouble]:
    """An internal service on another loopback port, that a redirect must not reach (its
    log shows any request, whatever the path)."""
    server = RdapDouble()
    await server.start()
    yield server
    await server.stop()


def bootstrap_file(path: Path, rdap_base: str, tlds: Iterable[str] = ("com", "org", "net")) -> str:
    """A bootstrap file sending these TLDs to the RDAP double (others: WHOIS or nothing)."""
    path.write_text(json.dumps({"version": "1.0", "services": [[list(tlds), [rdap_base]]]}))
    return str(path)


@pytest.fixture
def cfg(doubles: NetDoubles, tmp_path: Path) -> DomainsSection:
    """Settings for sweeps: RDAP by bootstrap (com/org/net), WHOIS for .de/.io, fast rates."""
    return DomainsSection(**doubles.settings(
        rdap_url=None, whois_server=None,
        rdap_bootstrap=bootstrap_file(tmp_path / "dns.json", doubles.rdap.base_url),
        whois_servers={"de": doubles.whois.server, "io": doubles.whois.server},
        rdap_rate_per_second=200.0, whois_rate_per_second=200.0, chunk_size=50,
    ))


@pytest.fixture
async def sessions(store_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(store_url)
    yield session_factory(engine)
    await engine.dispose()


@dataclass(frozen=True)
class Maintainer:
    username: str
    email: str
    verified_at: datetime | None = datetime(2020, 1, 15, tzinfo=UTC)
    projects: tuple[str, ...] = ()
    verified: bool = True
    source: str = "index-db"


async def seed(
    sessions: async_sessionmaker[AsyncSession], people: Iterable[Maintainer],
    critical: Iterable[str] = (),
) -> None:
    """Accounts, their emails and roles; projects named in `critical` are critical."""
    critical_set = set(critical)
    async with sessions.begin() as session:
        projects: dict[str, Project] = {}
        for person in people:
            account = Account(username=person.username, first_seen_at=T0)
            session.add(account)
            await session.flush()
            session.add(Email(account_id=account.id, email=person.email, primary=True,
                              verified=person.verified, verified_at=person.verified_at,
                              source=person.source))
            for name in person.projects:
                if name not in projects:
                    projects[name] = Project(name=name, normalized_name=name, releases=[],
                                             critical=name in critical_set)
                    session.add(projects[name])
                    await session.flush()
                session.add(Role(project_id=projects[name].id, account_id=account.id,
                                 role="Owner", added_at=T0))


def finding_kinds(findings: Iterable[Any]) -> set[tuple[str, str]]:
    return {(f.kind, f.subject) for f in findings}
