"""SQLAlchemy Core tables shaped like PyPI's Warehouse database.

Checked against pypi/warehouse at commit
6b62157124ab7865029afeeadf282bce27d601d9 (2026-08-21), files
``warehouse/packaging/models.py``, ``warehouse/accounts/models.py``,
``warehouse/events/models.py`` and ``warehouse/db.py``.

The ``warehouse`` index-admin backend reads and edits a real Warehouse
PostgreSQL through these tables, and the index double creates them in SQLite,
so names (tables, columns, enum types, constraints) follow Warehouse exactly
while types stay portable:

- UUID primary keys get a client-side ``uuid4`` default (Warehouse uses the
  server default ``gen_random_uuid()``, which SQLite lacks);
- ``CITEXT`` columns are ``Text`` with a PostgreSQL ``CITEXT`` variant;
- ``JSONB`` is ``JSON`` with a PostgreSQL ``JSONB`` variant and ``ARRAY`` is
  ``JSON`` with a PostgreSQL ``ARRAY`` variant;
- enums carry Warehouse's PostgreSQL type names (``lifecyclestatus``,
  ``packagetype`` ...) so asyncpg bind casts match the real types.

Only the columns the bot reads or writes (plus the NOT NULL ones an insert
needs) are modelled; Warehouse has more (organizations, teams, OIDC, ...).
Triggers Warehouse relies on (``projects.normalized_name``,
``projects.last_serial``, ``release_files.requires_python``,
``releases._pypi_ordering``) exist only in PostgreSQL; the double computes
those values itself.
"""

from __future__ import annotations

import datetime
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = [
    "DependencyKind",
    "LifecycleStatus",
    "PackageType",
    "RoleInvitationStatus",
    "UnverifyReasons",
    "file_registry",
    "journals",
    "metadata",
    "project_events",
    "projects",
    "release_dependencies",
    "release_descriptions",
    "release_files",
    "release_urls",
    "releases",
    "role_invitations",
    "roles",
    "user_emails",
    "user_events",
    "users",
]

metadata = sa.MetaData()


class LifecycleStatus(enum.StrEnum):
    """``warehouse.packaging.models.LifecycleStatus``."""

    QuarantineEnter = "quarantine-enter"
    QuarantineExit = "quarantine-exit"
    Archived = "archived"
    ArchivedNoindex = "archived-noindex"


class PackageType(enum.StrEnum):
    """``warehouse.packaging.models.PackageType``."""

    bdist_dmg = "bdist_dmg"
    bdist_dumb = "bdist_dumb"
    bdist_egg = "bdist_egg"
    bdist_msi = "bdist_msi"
    bdist_rpm = "bdist_rpm"
    bdist_wheel = "bdist_wheel"
    bdist_wininst = "bdist_wininst"
    sdist = "sdist"


class DependencyKind(enum.IntEnum):
    """``warehouse.packaging.models.DependencyKind`` (``requires_dist`` is 4)."""

    requires = 1
    provides = 2
    obsoletes = 3
    requires_dist = 4
    provides_dist = 5
    obsoletes_dist = 6
    requires_external = 7


class UnverifyReasons(enum.StrEnum):
    """``warehouse.accounts.models.UnverifyReasons`` (stored by value)."""

    SpamComplaint = "spam complaint"
    HardBounce = "hard bounce"
    SoftBounce = "soft bounce"
    DomainInvalid = "domain status invalid"


class DisableReason(enum.StrEnum):
    """``warehouse.accounts.models.DisableReason`` (stored by value)."""

    CompromisedPassword = "password compromised"
    AccountFrozen = "account frozen"
    AdminInitiated = "admin initiated"


class RoleInvitationStatus(enum.StrEnum):
    """``warehouse.packaging.models.RoleInvitationStatus``."""

    Pending = "pending"
    Expired = "expired"


def _enum(cls: type[enum.StrEnum], name: str) -> sa.Enum:
    # Warehouse persists enum *values* and names the PostgreSQL type after the class.
    return sa.Enum(
        cls,
        name=name,
        values_callable=lambda e: [m.value for m in e],
        create_constraint=False,
        validate_strings=True,
    )


CIText = sa.Text().with_variant(postgresql.CITEXT(), "postgresql")
JSONB = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
StringArray = sa.JSON().with_variant(postgresql.ARRAY(sa.String()), "postgresql")


def _uuid_pk() -> sa.Column[uuid.UUID]:
    return sa.Column("id", sa.Uuid(), primary_key=True, default=uuid.uuid4)


def _false(name: str, *, nullable: bool = False) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=nullable, server_default=sa.false())


def _now(name: str, *, nullable: bool = False) -> sa.Column[datetime.datetime]:
    # Warehouse stores naive UTC timestamps (timestamp without time zone).
    return sa.Column(name, sa.DateTime(), nullable=nullable, server_default=sa.func.now())


def _fk(target: str, ondelete: str | None = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey(target, onupdate="CASCADE", ondelete=ondelete)


users = sa.Table(
    "users",
    metadata,
    _uuid_pk(),
    sa.Column("username", CIText, nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("password", sa.String(128), nullable=False),
    sa.Column("password_date", sa.DateTime(), server_default=sa.func.now()),
    _false("is_active"),
    _false("is_frozen"),
    _false("is_superuser"),
    _false("is_support"),
    _false("is_moderator"),
    _false("is_psf_staff"),
    _false("is_observer"),
    _false("prohibit_password_reset"),
    _false("hide_avatar"),
    _now("date_joined", nullable=True),
    sa.Column("last_login", sa.DateTime(), server_default=sa.func.now()),
    sa.Column("disabled_for", _enum(DisableReason, "disablereason")),
    sa.Column("totp_secret", sa.LargeBinary(20)),
    sa.Column("last_totp_value", sa.String()),
    sa.CheckConstraint("length(username) <= 50", name="users_valid_username_length"),
)

user_emails = sa.Table(
    "user_emails",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.Uuid(),
        sa.ForeignKey("users.id", deferrable=True, initially="DEFERRED"),
        nullable=False,
    ),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("primary", sa.Boolean(), nullable=False),
    sa.Column("verified", sa.Boolean(), nullable=False),
    _false("public"),
    sa.Column("unverify_reason", _enum(UnverifyReasons, "unverifyreasons")),
    sa.Column("transient_bounces", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("domain_last_checked", sa.DateTime(), index=True),
    sa.Column("domain_last_status", StringArray),
    sa.UniqueConstraint("email", name="user_emails_email_key"),
    sa.Index("user_emails_user_id", "user_id"),
)


def _events_table(prefix: str, parent: str) -> sa.Table:
    """``HasEvents``: one ``<model>_events`` table per parent model.

    The ``account:email:verified`` tag (additional ``{"email", "primary"}``) in
    ``user_events`` is the only record of *when* an address was verified.
    ``ip_address_id`` references ``ip_addresses`` in Warehouse; not modelled here.
    """
    return sa.Table(
        f"{prefix}_events",
        metadata,
        _uuid_pk(),
        sa.Column(
            "source_id",
            sa.Uuid(),
            sa.ForeignKey(f"{parent}.id", deferrable=True, initially="DEFERRED",
                          ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("tag", sa.String(), nullable=False),
        _now("time"),
        sa.Column("additional", JSONB),
        sa.Column("ip_address_id", sa.Uuid(), nullable=True),
        sa.Index(f"ix_{prefix}_events_source_id", "source_id"),
    )


user_events = _events_table("user", "users")

projects = sa.Table(
    "projects",
    metadata,
    _uuid_pk(),
    sa.Column("name", sa.Text(), nullable=False),
    # Filled by a trigger (normalize_pep426_name) in Warehouse's PostgreSQL.
    sa.Column("normalized_name", sa.String(), nullable=False, unique=True),
    _now("created", nullable=True),
    sa.Column("has_docs", sa.Boolean()),
    sa.Column("upload_limit", sa.Integer()),
    sa.Column("total_size_limit", sa.BigInteger()),
    sa.Column("last_serial", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("total_size", sa.BigInteger(), server_default=sa.text("0")),
    sa.Column("lifecycle_status", _enum(LifecycleStatus, "lifecyclestatus")),
    sa.Column("lifecycle_status_changed", sa.DateTime(), server_default=sa.func.now()),
    sa.Column("lifecycle_status_note", sa.String()),
    sa.Index("ix_projects_created", "created"),
)

project_events = _events_table("project", "projects")

roles = sa.Table(
    "roles",
    metadata,
    _uuid_pk(),
    sa.Column("role_name", sa.String(), nullable=False),
    sa.Column("user_id", sa.Uuid(), _fk("users.id"), nullable=False),
    sa.Column("project_id", sa.Uuid(), _fk("projects.id"), nullable=False),
    sa.UniqueConstraint("user_id", "project_id", name="_roles_user_project_uc"),
    sa.Index("roles_user_id_idx", "user_id"),
    sa.Index("roles_project_id_idx", "project_id"),
)

role_invitations = sa.Table(
    "role_invitations",
    metadata,
    _uuid_pk(),
    sa.Column("invite_status", _enum(RoleInvitationStatus, "roleinvitationstatus"),
              nullable=False),
    # The desired role lives only inside this signed token in Warehouse.
    sa.Column("token", sa.String(), nullable=False),
    sa.Column("user_id", sa.Uuid(), _fk("users.id"), nullable=False, index=True),
    sa.Column("project_id", sa.Uuid(), _fk("projects.id"), nullable=False, index=True),
    sa.UniqueConstraint("user_id", "project_id", name="_role_invitations_user_project_uc"),
)

release_descriptions = sa.Table(
    "release_descriptions",
    metadata,
    _uuid_pk(),
    sa.Column("content_type", sa.String()),
    sa.Column("raw", sa.String(), nullable=False),
    sa.Column("html", sa.String(), nullable=False),
    sa.Column("rendered_by", sa.String(), nullable=False),
)

releases = sa.Table(
    "releases",
    metadata,
    _uuid_pk(),
    sa.Column("project_id", sa.Uuid(), _fk("projects.id"), nullable=False),
    sa.Column("version", sa.Text(), nullable=False),
    sa.Column("canonical_version", sa.String(), nullable=False),
    _false("is_prerelease"),
    sa.Column("author", sa.String()),
    sa.Column("author_email", sa.String()),
    _false("author_email_verified"),
    sa.Column("maintainer", sa.String()),
    sa.Column("maintainer_email", sa.String()),
    _false("maintainer_email_verified"),
    sa.Column("home_page", sa.String()),
    _false("home_page_verified"),
    sa.Column("license", sa.String()),
    sa.Column("license_expression", sa.String()),
    sa.Column("summary", sa.String()),
    sa.Column("keywords", sa.String()),
    sa.Column("platform", sa.String()),
    sa.Column("download_url", sa.String()),
    _false("download_url_verified"),
    sa.Column("_pypi_ordering", sa.Integer()),
    sa.Column("requires_python", sa.Text()),
    _now("created"),
    sa.Column("published", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("lifecycle_status", _enum(LifecycleStatus, "lifecyclestatus")),
    sa.Column("lifecycle_status_changed", sa.DateTime(), server_default=sa.func.now()),
    sa.Column("lifecycle_status_note", sa.String()),
    sa.Column("description_id", sa.Uuid(), _fk("release_descriptions.id"), nullable=False,
              index=True),
    _false("yanked"),
    sa.Column("yanked_reason", sa.String(), nullable=False, server_default=""),
    sa.Column("yanked_date", sa.DateTime()),
    sa.Column("uploader_id", sa.Uuid(), _fk("users.id", "SET NULL"), index=True),
    sa.Column("uploaded_via", sa.String()),
    sa.UniqueConstraint("project_id", "version"),
    sa.Index("release_version_idx", "version"),
    sa.Index("release_canonical_version_idx", "canonical_version"),
)

release_urls = sa.Table(
    "release_urls",
    metadata,
    _uuid_pk(),
    sa.Column("release_id", sa.Uuid(), _fk("releases.id"), nullable=False, index=True),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("url", sa.String(), nullable=False),
    _false("verified"),
    sa.UniqueConstraint("release_id", "name"),
)

release_dependencies = sa.Table(
    "release_dependencies",
    metadata,
    _uuid_pk(),
    sa.Column("release_id", sa.Uuid(), _fk("releases.id"), nullable=False),
    sa.Column("kind", sa.Integer()),
    sa.Column("specifier", sa.String()),
    sa.Index("release_dependencies_release_kind_idx", "release_id", "kind"),
)

release_files = sa.Table(
    "release_files",
    metadata,
    _uuid_pk(),
    sa.Column("release_id", sa.Uuid(), _fk("releases.id"), nullable=False),
    sa.Column("python_version", sa.String(), nullable=False),
    # Copied from the release by a trigger in Warehouse.
    sa.Column("requires_python", sa.String()),
    sa.Column("packagetype", _enum(PackageType, "packagetype"), nullable=False),
    sa.Column("comment_text", sa.String()),
    sa.Column("filename", sa.String(), nullable=False, unique=True),
    sa.Column("path", sa.String(), nullable=False, unique=True),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("md5_digest", sa.String(), nullable=False, unique=True),
    sa.Column("sha256_digest", CIText, nullable=False, unique=True),
    sa.Column("blake2_256_digest", CIText, nullable=False, unique=True),
    _now("upload_time"),
    sa.Column("uploaded_via", sa.String()),
    sa.Column("metadata_file_sha256_digest", CIText),
    sa.Column("metadata_file_blake2_256_digest", CIText),
    _false("allow_multiple_sdist"),
    _false("cached"),
    _false("archived"),
    _false("metadata_file_unbackfillable", nullable=True),
    sa.Index("release_files_release_id_idx", "release_id"),
)

# Every filename ever uploaded; Warehouse refuses to accept one twice.
file_registry = sa.Table(
    "file_registry",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("filename", sa.Text(), nullable=False),
    sa.UniqueConstraint("filename", name="file_registry_filename_key"),
)

# The changelog: ``id`` is the serial served by changelog_since_serial.
journals = sa.Table(
    "journals",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text()),
    sa.Column("version", sa.String()),
    sa.Column("action", sa.String()),
    _now("submitted_date"),
    sa.Column(
        "submitted_by",
        CIText,
        sa.ForeignKey("users.username", onupdate="CASCADE"),
        nullable=True,
    ),
    sa.Index("journals_name_idx", "name"),
    sa.Index("journals_version_idx", "version"),
    sa.Index("journals_submitted_by_idx", "submitted_by"),
    sa.Index("journals_submitted_date_id_idx", "submitted_date", "id"),
)
