"""SQLAlchemy 2 models: the bot's own tables (not the index's).

Portable across SQLite and PostgreSQL: no vendor types, JSON via sa.JSON, and the
"one open incident per dedup key" rule as a unique `open_key` that is NULL once the
incident is closed (both databases treat NULLs as distinct in unique constraints).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite stores no zone, so it is re-attached on read."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON, list[Any]: sa.JSON}


class FeedCursor(Base):
    """Last changelog serial whose events are stored, one row per feed."""

    __tablename__ = "feed_cursor"
    feed: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    serial: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[datetime]
    checked_at: Mapped[datetime | None]  # last feed pass that reached the index's head
    # The serial the feed started after: entries up to it were never ours to store.
    first_serial: Mapped[int | None] = mapped_column(sa.BigInteger)
    stalled_since: Mapped[datetime | None]  # first failed pass since the last good one
    stall_reason: Mapped[str | None] = mapped_column(sa.Text)


class FeedReject(Base):
    """An entry or document from the index that failed validation, kept verbatim.

    One row per distinct raw text (digest), so an index that sends the same bad entry
    again and again is recorded once.
    """

    __tablename__ = "feed_rejects"
    __table_args__ = (sa.UniqueConstraint("feed", "digest"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    feed: Mapped[str] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(600))  # "changelog" or "json:<project>"
    serial: Mapped[int | None] = mapped_column(sa.BigInteger)
    digest: Mapped[str] = mapped_column(sa.String(64))  # sha256 of source and raw
    received_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.Text)
    raw: Mapped[str] = mapped_column(sa.Text)


class Event(Base):
    """Every changelog entry as received and parsed (the raw action kept)."""

    __tablename__ = "events"
    serial: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(sa.String(32))
    project: Mapped[str] = mapped_column(sa.String(512), index=True)
    version: Mapped[str | None] = mapped_column(sa.String(512))
    filename: Mapped[str | None] = mapped_column(sa.Text)
    user: Mapped[str | None] = mapped_column(sa.String(256), index=True)
    role: Mapped[str | None] = mapped_column(sa.String(64))
    raw: Mapped[str] = mapped_column(sa.Text)


class Project(Base):
    """A project the ledger tracks; rows outlive the project's deletion on the index."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(512))
    normalized_name: Mapped[str] = mapped_column(sa.String(512), unique=True)
    created_at: Mapped[datetime | None]
    first_seen_serial: Mapped[int | None] = mapped_column(sa.BigInteger)
    removed_at: Mapped[datetime | None]
    removed_serial: Mapped[int | None] = mapped_column(sa.BigInteger)
    quarantined: Mapped[bool] = mapped_column(default=False)
    critical: Mapped[bool] = mapped_column(default=False, index=True)
    critical_reason: Mapped[str | None] = mapped_column(sa.Text)
    critical_since: Mapped[datetime | None]
    # An admin's explicit removal from the critical set; recomputes respect it.
    critical_removed_at: Mapped[datetime | None]
    critical_removed_reason: Mapped[str | None] = mapped_column(sa.Text)
    synced_at: Mapped[datetime | None]  # last full fetch from the index's JSON API
    synced_serial: Mapped[int | None] = mapped_column(sa.BigInteger)

    releases: Mapped[list[Release]] = relationship(
        back_populates="project", order_by="Release.id", cascade="all, delete-orphan"
    )


class CriticalMark(Base):
    """One reason a project is critical (downloads, dependency, manual), kept for `show`."""

    __tablename__ = "critical_marks"
    __table_args__ = (sa.UniqueConstraint("project_id", "source"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(sa.String(32))  # downloads | dependency | manual
    detail: Mapped[str] = mapped_column(sa.Text)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]


class Release(Base):
    __tablename__ = "releases"
    __table_args__ = (sa.UniqueConstraint("project_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(sa.String(512))
    created_at: Mapped[datetime | None]
    yanked: Mapped[bool] = mapped_column(default=False)
    yanked_reason: Mapped[str | None] = mapped_column(sa.Text)
    removed_at: Mapped[datetime | None]
    requires_dist: Mapped[list[Any] | None]

    project: Mapped[Project] = relationship(back_populates="releases")
    files: Mapped[list[File]] = relationship(
        back_populates="release", order_by="File.id", cascade="all, delete-orphan"
    )


class File(Base):
    """A distribution file with the digests a restore is checked against."""

    __tablename__ = "files"
    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(sa.ForeignKey("releases.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(sa.String(1024), unique=True)
    packagetype: Mapped[str | None] = mapped_column(sa.String(32))
    python_version: Mapped[str | None] = mapped_column(sa.String(64))
    requires_python: Mapped[str | None] = mapped_column(sa.String(256))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    blake2b_256: Mapped[str] = mapped_column(sa.String(64))
    md5: Mapped[str | None] = mapped_column(sa.String(32))
    upload_time: Mapped[datetime | None]
    path: Mapped[str] = mapped_column(sa.Text)  # packages/<b2[:2]>/<b2[2:4]>/<b2[4:]>/<filename>
    yanked: Mapped[bool] = mapped_column(default=False)
    removed_at: Mapped[datetime | None]

    release: Mapped[Release] = relationship(back_populates="files")


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(256), unique=True)
    first_seen_at: Mapped[datetime | None]
    frozen: Mapped[bool] = mapped_column(default=False)


class Email(Base):
    __tablename__ = "emails"
    __table_args__ = (sa.UniqueConstraint("account_id", "email"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(512), index=True)
    primary: Mapped[bool] = mapped_column(default=False)
    verified: Mapped[bool] = mapped_column(default=False)
    verified_at: Mapped[datetime | None]
    # "index-db" (the index's own records) or "metadata" (author emails: a weaker signal)
    source: Mapped[str] = mapped_column(sa.String(32), default="index-db")


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (sa.UniqueConstraint("project_id", "account_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(64))
    added_at: Mapped[datetime | None]
    added_serial: Mapped[int | None] = mapped_column(sa.BigInteger)
    removed_at: Mapped[datetime | None]


class LedgerChange(Base):
    """One change the feed applied to a tracked project (its changelog entry, parsed).

    The release, file and role rows above hold only the present (and when something was
    last removed); this history lets a restore bring back the state just before one
    removal: which releases and files were on the index and who held which role then.
    Written for tracked projects only, in the feed's transaction. Rows carried over from
    before the history was kept have no serial and are placed by time.
    """

    __tablename__ = "ledger_changes"
    __table_args__ = (sa.Index("ix_ledger_changes_project_id_serial", "project_id", "serial"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    serial: Mapped[int | None] = mapped_column(sa.BigInteger)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(sa.String(32))  # an EventKind value
    version: Mapped[str | None] = mapped_column(sa.String(512))
    filename: Mapped[str | None] = mapped_column(sa.String(1024))
    username: Mapped[str | None] = mapped_column(sa.String(256))
    role: Mapped[str | None] = mapped_column(sa.String(64))


class Incident(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(sa.String(1024), index=True)
    # equals dedup_key while the incident is active, NULL once closed: one active per key
    open_key: Mapped[str | None] = mapped_column(sa.String(1024), unique=True)
    detector: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(1024))
    severity: Mapped[str] = mapped_column(sa.String(16), index=True)
    status: Mapped[str] = mapped_column(sa.String(32), index=True)
    summary: Mapped[str] = mapped_column(sa.Text)
    evidence: Mapped[list[Any]]
    playbooks: Mapped[list[Any]]
    occurrences: Mapped[int] = mapped_column(default=1)
    assignee: Mapped[str | None] = mapped_column(sa.String(256))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    timeline: Mapped[list[TimelineEntry]] = relationship(
        back_populates="incident", order_by="TimelineEntry.id", cascade="all, delete-orphan"
    )


class TimelineEntry(Base):
    __tablename__ = "incident_timeline"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(256))
    action: Mapped[str] = mapped_column(sa.String(64))
    detail: Mapped[dict[str, Any]]

    incident: Mapped[Incident] = relationship(back_populates="timeline")


class OutboxMessage(Base):
    """A notification waiting to leave; written in the transaction that caused it."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    notifier: Mapped[str] = mapped_column(sa.String(32), index=True)
    incident_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(256))
    action: Mapped[str] = mapped_column(sa.String(128))
    target: Mapped[str] = mapped_column(sa.String(1024))
    outcome: Mapped[str] = mapped_column(sa.String(32))  # requested, started, done, refused, failed
    reason: Mapped[str | None] = mapped_column(sa.Text)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id"))
    approver: Mapped[str | None] = mapped_column(sa.String(256))
    detail: Mapped[dict[str, Any]]
