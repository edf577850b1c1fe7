"""Items 1-3 of issue 18: every maintainer is swept, read from the index's database.

Accounts come from Warehouse's own tables (here the index double's SQLite copy of them):
every account with a verified address and a role on any project, incrementally after
the first read. `warden domain sweep` reads them exactly as the scheduled job does, and
`warden domain coverage` says how much is covered. Without database access the sweep
falls back on the addresses in package metadata, marked as a weaker signal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from bot.cli.domain import app
from bot.facts import ProjectFacts
from bot.feed.index_accounts import read_index_accounts
from bot.feed.metadata_emails import use_metadata_emails
from bot.feed.pypi import decode_project
from bot.indexdouble.store import IndexDoubleStore
from bot.ledger import Ledger, TrackedProjects
from bot.netdoubles import NetDoubles, RdapDomain, threaded
from bot.store.domain_models import AccountProject, Domain
from bot.store.models import Account, Email, Project, Role
from detectors.domains.settings import DomainsSection

from .conftest import T0
from .test_sweep import sweep

VERIFIED = datetime(2019, 4, 2, 12, 0, tzinfo=UTC)


def _index(store: IndexDoubleStore) -> None:
    """alice: non-critical tinylib; bob: critical requests; carol: no role; dave: no
    verified address."""
    store.add_user("alice", "alice@tiny-home.org", at=VERIFIED)
    store.create_project("tinylib", "alice", at=VERIFIED)
    store.add_user("bob", "bob@bob-mail.com", at=VERIFIED)
    store.create_project("requests", "bob", at=VERIFIED)
    store.add_user("carol", "carol@carol-mail.org", at=VERIFIED)
    store.add_user("dave", "dave@dave-mail.org", verified=False, at=VERIFIED)
    store.add_role("tinylib", "dave", "Maintainer", actor="alice", at=VERIFIED)


def _setup(d: NetDoubles) -> None:
    for name in ("tiny-home.org", "bob-mail.com", "carol-mail.org", "dave-mail.org"):
        d.dns.set_zone(name)
        d.rdap.set_domain(name)
    d.rdap.set_domain("tiny-home.org", RdapDomain(state="grace"))


@pytest.fixture(scope="module")
def servers() -> Iterator[NetDoubles]:
    with threaded(setup=_setup) as doubles:
        yield doubles


def test_cli_sweep_reads_every_maintainer_from_the_index_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env: None, servers: NetDoubles,
) -> None:
    store = IndexDoubleStore(tmp_path / "index.sqlite", tmp_path / "files")
    try:
        _index(store)
    finally:
        store.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WARDEN_STORE_URL", f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("WARDEN_LOG_LEVEL", "error")
    monkeypatch.setenv("WARDEN_PLAYBOOKS_WAREHOUSE_URL",
                       f"sqlite+aiosqlite:///{tmp_path / 'index.sqlite'}")
    monkeypatch.setenv("WARDEN_DOMAINS_RESOLVER", servers.dns.resolver)
    monkeypatch.setenv("WARDEN_DOMAINS_RDAP_URL", servers.rdap.base_url.rstrip("/"))
    monkeypatch.setenv("WARDEN_DOMAINS_DNS_RETRY_SECONDS", "0.05")
    monkeypatch.setenv("WARDEN_DOMAINS_REGISTRY_EVERY_DAYS", "1")  # RDAP for each, today
    cli = CliRunner()

    dry = cli.invoke(app, ["sweep", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["planned"] == 2  # a fresh store: read from the index
    result = cli.invoke(app, ["sweep", "--json"])
    summary = json.loads(result.stdout)
    assert summary["planned"] == 2 and summary["finished"], result.output
    assert result.exit_code == 1 and len(summary["incidents"]) == 1  # alice's tiny-home.org

    shown = cli.invoke(app, ["coverage", "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert (data["accounts"], data["domains"], data["critical_domains"]) == (2, 2, 0)
    assert data["checked_within_period"] == 2 and data["never_checked"] == 0
    assert data["oldest_check"] is not None and data["period_days"] == 30
    text = cli.invoke(app, ["coverage"]).stdout
    assert "accounts: 2" in text and "checked within 30 days: 2 (100.0%)" in text


async def test_reads_are_incremental_and_follow_roles_and_addresses(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = IndexDoubleStore(tmp_path / "index.sqlite", tmp_path / "files")
    url = f"sqlite+aiosqlite:///{tmp_path / 'index.sqlite'}"
    try:
        _index(store)
        first = await read_index_accounts(sessions, url, T0)
        assert first.full and (first.changed, first.written) == (2, 2)

        again = await read_index_accounts(sessions, url, T0 + timedelta(hours=1))
        assert not again.full and again.changed == 0  # nothing changed: nothing read

        later = T0 + timedelta(days=1)
        store.add_user("erin", "erin@erin-mail.net", at=later)
        store.create_project("newlib", "erin", at=later)
        store.add_email("alice", "alice@new-home.org", at=later)
        store.remove_role("requests", "bob", actor="admin", at=later)
        step = await read_index_accounts(sessions, url, later + timedelta(hours=1))
        assert not step.full and step.changed == 2 and step.dropped == 1  # erin, alice; bob

        week = await read_index_accounts(sessions, url, T0 + timedelta(days=8))
        assert week.full and week.written == 2  # the weekly full read agrees
    finally:
        store.close()
    async with sessions() as session:
        roles = set((await session.execute(
            sa.select(Account.username, AccountProject.project, AccountProject.role)
            .join(AccountProject, AccountProject.account_id == Account.id))).all())
        emails = {(e.email, e.verified) for e in (await session.execute(
            sa.select(Email))).scalars()}
    assert roles == {("alice", "tinylib", "Owner"), ("erin", "newlib", "Owner")}
    assert ("alice@new-home.org", True) in emails and ("bob@bob-mail.com", False) in emails
    assert not {e for e, _ in emails} & {"carol@carol-mail.org", "dave@dave-mail.org"}


async def test_roles_read_from_the_index_make_a_domain_critical(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], store_url: str,
    doubles: NetDoubles, cfg: DomainsSection,
) -> None:
    store = IndexDoubleStore(tmp_path / "index.sqlite", tmp_path / "files")
    try:
        _index(store)
        await read_index_accounts(sessions, f"sqlite+aiosqlite:///{tmp_path / 'index.sqlite'}",
                                  T0)
    finally:
        store.close()
    async with sessions.begin() as session:  # requests is critical; the ledger holds no role
        session.add(Project(name="requests", normalized_name="requests", critical=True,
                            releases=[]))
    for name in ("tiny-home.org", "bob-mail.com"):
        doubles.dns.set_zone(name)
        doubles.rdap.set_domain(name)
    report, _ = await sweep(sessions, store_url, cfg, T0)
    async with sessions() as session:
        critical = dict((await session.execute(sa.select(Domain.name, Domain.critical))).all())
    assert critical == {"tiny-home.org": False, "bob-mail.com": True}
    assert report.planned == 2


async def test_without_the_index_database_package_metadata_is_a_weaker_signal(
    sessions: async_sessionmaker[AsyncSession], store_url: str, doubles: NetDoubles,
    cfg: DomainsSection,
) -> None:
    doc = {"info": {"name": "six", "author_email": "Ben <ben@ben-home.org>, x@y",
                    "maintainer_email": None},
           "releases": {}, "last_serial": 7, "ownership": {"roles": [
               {"role": "Owner", "user": "ben"}]}}
    facts = decode_project(doc, "six")
    assert facts.author_email == "Ben <ben@ben-home.org>, x@y"
    async with sessions.begin() as session:
        ledger = Ledger(session, TrackedProjects())
        project = await ledger.track("six", T0)
        await session.flush()
        account = await ledger.account("ben", T0)
        session.add(Role(project_id=project.id, account_id=account.id, role="Owner",
                         added_at=T0))
        await ledger.apply_facts(facts, T0)
    assert await use_metadata_emails(sessions, T0) == 1  # "x@y" is not an address
    doubles.dns.set_zone("ben-home.org")
    doubles.rdap.set_domain("ben-home.org", RdapDomain(state="grace"))
    cfg = cfg.model_copy(update={"registry_every_days": 1})
    _, incidents = await sweep(sessions, store_url, cfg, T0)
    [incident] = incidents
    assert incident.subject == "domain:ben-home.org"
    assert "weaker signal" in incident.summary
    assert "weaker signal" in incident.evidence[-1]["summary"]

    async with sessions.begin() as session:  # the metadata no longer names ben's address
        await Ledger(session, TrackedProjects()).apply_facts(
            ProjectFacts("six", 8, {}, [], [("Owner", "ben")]), T0)
    assert await use_metadata_emails(sessions, T0) == 0
    async with sessions() as session:
        kept = (await session.execute(sa.select(Email))).scalars().all()
    assert [(e.email, e.source, e.verified) for e in kept] == [
        ("ben@ben-home.org", "metadata", False)]
