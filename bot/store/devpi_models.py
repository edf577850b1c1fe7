"""What the devpi feed keeps of the private indexes it follows (migration 0014).

A devpi index is its own namespace (``user/index``), so its projects and files are
kept apart from the PyPI ledger (where a project name is unique): a public project and
an internal one with the same name is exactly the dependency confusion the bot looks
for. Rows are never deleted: a removal marks ``removed_at``, so the files and digests
outlive the removal and a restore can be planned from them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base

__all__ = ["DevpiEvent", "DevpiFile", "DevpiIndex", "DevpiProject", "DevpiServer", "DevpiUser"]


class DevpiServer(Base):
    """The devpi primary a feed follows: its UUID, so another server is never taken
    for the same one (its serials would mean other changes)."""

    __tablename__ = "devpi_servers"
    feed: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(64))
    url: Mapped[str] = mapped_column(sa.String(1024))


class DevpiUser(Base):
    """A devpi account as its user record says (never its password hash)."""

    __tablename__ = "devpi_users"
    username: Mapped[str] = mapped_column(sa.String(256), primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(512))
    removed_at: Mapped[datetime | None]


class DevpiIndex(Base):
    __tablename__ = "devpi_indexes"
    name: Mapped[str] = mapped_column(sa.String(600), primary_key=True)  # user/index
    owner: Mapped[str] = mapped_column(sa.String(256))
    type: Mapped[str] = mapped_column(sa.String(64))
    bases: Mapped[list[Any]] = mapped_column(sa.JSON)
    acl_upload: Mapped[list[Any]] = mapped_column(sa.JSON)
    # Which names a mirror base may still serve when a private stage has them (devpi's
    # protection against dependency confusion), and how bases' lists combine.
    mirror_whitelist: Mapped[list[Any]] = mapped_column(sa.JSON)
    whitelist_inheritance: Mapped[str] = mapped_column(sa.String(32))
    updated_serial: Mapped[int] = mapped_column(sa.BigInteger)
    removed_at: Mapped[datetime | None]


class DevpiProject(Base):
    __tablename__ = "devpi_projects"
    __table_args__ = (sa.UniqueConstraint("index", "normalized_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    index: Mapped[str] = mapped_column(sa.String(600))
    name: Mapped[str] = mapped_column(sa.String(512))
    normalized_name: Mapped[str] = mapped_column(sa.String(512), index=True)
    created_serial: Mapped[int] = mapped_column(sa.BigInteger)
    versions: Mapped[list[Any]] = mapped_column(sa.JSON)  # as devpi's last list said
    removed_at: Mapped[datetime | None]
    removed_serial: Mapped[int | None] = mapped_column(sa.BigInteger)


class DevpiFile(Base):
    """One release file as devpi recorded it (``+f/...`` path, sha256) and, when the
    feed could fetch it, the copy kept in blob storage (with its blake2b-256)."""

    __tablename__ = "devpi_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    relpath: Mapped[str] = mapped_column(sa.String(2048), unique=True)
    index: Mapped[str] = mapped_column(sa.String(600))
    project: Mapped[str] = mapped_column(sa.String(512), index=True)  # normalized
    version: Mapped[str] = mapped_column(sa.String(512))
    filename: Mapped[str] = mapped_column(sa.String(1024))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    blake2b_256: Mapped[str | None] = mapped_column(sa.String(64))
    blob_path: Mapped[str | None] = mapped_column(sa.String(2048))
    uploader: Mapped[str | None] = mapped_column(sa.String(256))
    added_serial: Mapped[int] = mapped_column(sa.BigInteger)
    added_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    removed_serial: Mapped[int | None] = mapped_column(sa.BigInteger)


class DevpiEvent(Base):
    """Every event the devpi feed derived from the changelog (several per serial)."""

    __tablename__ = "devpi_events"
    __table_args__ = (sa.Index("ix_devpi_events_feed_serial", "feed", "serial"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    feed: Mapped[str] = mapped_column(sa.String(64))
    serial: Mapped[int] = mapped_column(sa.BigInteger)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(sa.String(64))
    index: Mapped[str] = mapped_column(sa.String(600))
    project: Mapped[str] = mapped_column(sa.String(600))
    version: Mapped[str | None] = mapped_column(sa.String(512))
    filename: Mapped[str | None] = mapped_column(sa.String(1024))
    user: Mapped[str | None] = mapped_column(sa.String(256))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    raw: Mapped[str] = mapped_column(sa.Text)
