"""Tables of the domain area (defined on bot.store.models.Base).

- `domains`: one row per registrable domain of a verified maintainer email, with the
  latest evidence (so the DNS tier needs no history query) and scheduling dates.
- `domain_email_links`: which emails use which domain (many accounts share one).
- `domain_observations`: every DNS, RDAP and WHOIS observation, run-length encoded:
  an answer equal to the previous one of the same source extends that row
  (`last_seen_at`, `times`) instead of adding one.
- `domain_sweeps` and `domain_sweep_queue`: a sweep is planned into the queue once and
  worked through in chunks claimed with a lease (`FOR UPDATE SKIP LOCKED` on
  PostgreSQL), so it survives a crash and can be shared by replicas.
- `domain_alerts`: which (domain, kind, evidence key) have been raised, so the same
  evidence never opens a second incident after the first was closed.
- `domain_pending_findings`: findings written with the observations that caused them
  and handed to the pipeline, which records the incidents in its own transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base


class Domain(Base):
    __tablename__ = "domains"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)  # A-label
    tld: Mapped[str] = mapped_column(sa.String(64))
    critical: Mapped[bool] = mapped_column(default=False)
    mailbox_provider: Mapped[bool] = mapped_column(default=False)
    first_seen_at: Mapped[datetime]
    # DNS tier: last attempt, last authoritative answer and what it said.
    dns_attempted_at: Mapped[datetime | None]
    dns_checked_at: Mapped[datetime | None] = mapped_column(index=True)
    dns_failures: Mapped[int] = mapped_column(default=0)
    dns_outcome: Mapped[str | None] = mapped_column(sa.String(16))
    dns_ns: Mapped[list[Any] | None]
    dns_mx: Mapped[list[Any] | None]
    nxdomain_since: Mapped[datetime | None]  # start of the latest NXDOMAIN episode
    nxdomain_last_seen_at: Mapped[datetime | None]
    dns_obs_id: Mapped[int | None]  # latest DNS observation row (any outcome)
    dns_obs_fp: Mapped[str | None] = mapped_column(sa.String(32))
    # Registry tier (RDAP or WHOIS): last attempt, last answer and its key facts.
    registry_attempted_at: Mapped[datetime | None]
    registry_checked_at: Mapped[datetime | None] = mapped_column(index=True)
    registry_obs_id: Mapped[int | None]
    registry_obs_fp: Mapped[str | None] = mapped_column(sa.String(32))
    state: Mapped[str | None] = mapped_column(sa.String(16))
    expires_at: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]
    registrar: Mapped[str | None] = mapped_column(sa.String(512))
    flagged_at: Mapped[datetime | None] = mapped_column(index=True)  # re-check daily


class DomainEmailLink(Base):
    __tablename__ = "domain_email_links"
    email_id: Mapped[int] = mapped_column(
        sa.ForeignKey("emails.id", ondelete="CASCADE"), primary_key=True
    )
    domain_id: Mapped[int] = mapped_column(
        sa.ForeignKey("domains.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(sa.String(512))  # as linked; relinked if it changes


class DomainObservation(Base):
    __tablename__ = "domain_observations"
    __table_args__ = (sa.Index(None, "domain_id", "source", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(sa.ForeignKey("domains.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(sa.String(8))  # dns, rdap, whois
    server: Mapped[str | None] = mapped_column(sa.String(512))
    outcome: Mapped[str] = mapped_column(sa.String(16))
    evidence: Mapped[bool]  # an authoritative answer (never a timeout or a failure)
    data: Mapped[dict[str, Any]]
    fingerprint: Mapped[str] = mapped_column(sa.String(32))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    times: Mapped[int] = mapped_column(default=1)


class DomainSweep(Base):
    __tablename__ = "domain_sweeps"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)  # running, done
    # "running" while running, NULL once done: at most one sweep runs, whatever replicas do
    running_key: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    params: Mapped[dict[str, Any]]
    planned: Mapped[int] = mapped_column(default=0)
    stats: Mapped[dict[str, Any]]


class DomainSweepItem(Base):
    __tablename__ = "domain_sweep_queue"
    __table_args__ = (sa.Index(None, "sweep_id", "stage", "priority"),)
    sweep_id: Mapped[int] = mapped_column(
        sa.ForeignKey("domain_sweeps.id", ondelete="CASCADE"), primary_key=True
    )
    domain_id: Mapped[int] = mapped_column(
        sa.ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True
    )
    priority: Mapped[int]  # 0 flagged, 1 critical, 2 everyone else
    stage: Mapped[str] = mapped_column(sa.String(8))  # dns, registry, done
    server: Mapped[str | None] = mapped_column(sa.String(512))  # registry stage: whom to ask
    reason: Mapped[str | None] = mapped_column(sa.String(64))  # why the registry is asked
    claimed_by: Mapped[str | None] = mapped_column(sa.String(128))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)


class DomainAlert(Base):
    __tablename__ = "domain_alerts"
    __table_args__ = (sa.UniqueConstraint("domain_id", "kind", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(sa.ForeignKey("domains.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    key: Mapped[str] = mapped_column(sa.String(255))
    severity: Mapped[str] = mapped_column(sa.String(16))
    raised_at: Mapped[datetime]


class DomainPendingFinding(Base):
    __tablename__ = "domain_pending_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(sa.ForeignKey("domains.id", ondelete="CASCADE"))
    finding: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)


class AccountProject(Base):
    """A role an account holds on any project, as the index's database says (issue 18).

    The ledger's `roles` cover tracked projects only; the domain sweep covers every
    maintainer, so the roles read from the index are kept here, by project name, without
    making the project tracked. Replaced account by account at each read.
    """

    __tablename__ = "account_projects"
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    project: Mapped[str] = mapped_column(sa.String(512), primary_key=True, index=True)  # normalized
    role: Mapped[str] = mapped_column(sa.String(64))


class IndexAccountRead(Base):
    """Where the last read of accounts from the index's database stopped (one row)."""

    __tablename__ = "index_account_reads"
    id: Mapped[int] = mapped_column(primary_key=True)
    last_journal_id: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_event_at: Mapped[datetime | None]
    last_full_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    accounts: Mapped[int] = mapped_column(default=0)  # accounts the last read wrote


class ProjectContactEmail(Base):
    """`author_email` / `maintainer_email` from a project's JSON API metadata (issue 18).

    The fallback where there is no access to the index's database: these addresses are
    nobody's verified email, only what a release declared; findings that use them say so.
    """

    __tablename__ = "project_contact_emails"
    project: Mapped[str] = mapped_column(sa.String(512), primary_key=True)  # normalized
    field: Mapped[str] = mapped_column(sa.String(16), primary_key=True)  # author, maintainer
    email: Mapped[str] = mapped_column(sa.String(512))
    seen_at: Mapped[datetime]
