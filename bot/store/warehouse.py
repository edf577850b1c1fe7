"""SQLAlchemy Core tables shaped like PyPI's Warehouse database.

Checked against pypi/warehouse at commit
6b62157124ab7865029afeeadf282bce27d601d9 (2026-08-21), files
``warehouse/packaging/models.py``, ``warehouse/accounts/models.py``,
``warehouse/events/models.py``, ``warehouse/observations/models.py`` and
``warehouse/db.py``; and, in CI, against the real schema those migrations build
(``tests/fixtures/warehouse-schema.sql``): ``tests/playbooks/index_admin/test_warehouse_schema.py``
fails if any table or column here is missing there or has an incompatible type.

Why a hand-written copy at all, when the real schema is at hand: the index double
keeps Warehouse's tables in SQLite (the real schema is PostgreSQL-only: citext,
jsonb, plpgsql triggers), and the ``warehouse`` backend needs the same table
objects for both. So names (tables, columns, enum types, constraints) follow
Warehouse exactly while types stay portable:

- UUID primary keys get a client-side ``uuid4`` default (Warehouse uses the
  server default ``gen_random_uuid()``, which SQLite lacks);
- ``CITEXT`` columns are ``Text`` with a PostgreSQL ``CITEXT`` variant;
- ``JSONB`` is ``JSON`` with a PostgreSQL ``JSONB`` variant and ``ARRAY`` is
  ``JSON`` with a PostgreSQL ``ARRAY`` variant;
- enums carry Warehouse's PostgreSQL type names (``lifecyclestatus``,
  ``packagetype`` ...) so asyncpg bind casts match the real types.

Only the columns index-warden reads or writes (plus the NOT NULL ones an insert
needs) are modelled; Warehouse has more (organizations, teams, OIDC, ...).

Values Warehouse keeps with PostgreSQL triggers are never written by the
``warehouse`` backend. In SQLite, :data:`metadata` creates equivalent triggers for
the ones the double needs (``projects.total_size`` from ``release_files``,
``projects.last_serial`` from ``journals``, ``release_files.requires_python`` from
``releases``, orphaned ``release_descriptions``); ``projects.normalized_name`` and
``releases.is_prerelease`` (computed by triggers too) are given on insert, with the
same functions (:func:`normalize_name`, :func:`pep440_is_prerelease`), since SQLite
has no regular expressions; the PostgreSQL triggers overwrite them with equal values.
``projects.sitemap_bucket`` / ``users.sitemap_bucket`` are not modelled: only
triggers write them.
"""

from __future__ import annotations

import datetime
import enum
import re
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from bot.names import canonicalize

__all__ = [
    "DependencyKind",
    "LifecycleStatus",
    "ObservationKind",
    "PackageType",
    "RoleInvitationStatus",
    "UnverifyReasons",
    "file_events",
    "file_registry",
    "journals",
    "metadata",
    "normalize_name",
    "observer_association",
    "observers",
    "pep440_is_prerelease",
    "prohibited_email_domains",
    "prohibited_project_names",
    "project_events",
    "project_observations",
    "projects",
    "release_dependencies",
    "release_descriptions",
    "release_files",
    "release_observations",
    "release_urls",
    "releases",
    "role_invitations",
    "roles",
    "user_emails",
    "user_events",
    "user_observations",
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


class ObservationKind(enum.StrEnum):
    """``warehouse.observations.models.ObservationKind`` values (``kind`` is a plain
    string column, not an enum type)."""

    IsMalware = "is_malware"
    AccountAbuse = "account_abuse"
    EmailUnverified = "email_unverified"


class RoleInvitationStatus(enum.StrEnum):
    """``warehouse.packaging.models.RoleInvitationStatus``."""

    Pending = "pending"
    Expired = "expired"


normalize_name = canonicalize  # Warehouse's normalize_pep426_name is PEP 503's rule


_PRERELEASE = re.compile(r"(a|b|rc|dev|alpha|beta|c|pre|preview)")


def pep440_is_prerelease(version: str) -> bool:
    """Warehouse's ``pep440_is_prerelease`` SQL function (the ``is_prerelease`` trigger):
    any of those letters anywhere in the version, case-insensitive."""
    return _PRERELEASE.search(version.lower()) is not None


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


# An observer is how Warehouse names who made an observation: a user gets one on their
# first observation (observer_association row, discriminator "user").
observer_association = sa.Table(
    "observer_association",
    metadata,
    _uuid_pk(),
    sa.Column("discriminator", sa.String(), nullable=False),
)

observers = sa.Table(
    "observers",
    metadata,
    _uuid_pk(),
    _now("created"),
    sa.Column("_association_id", sa.Uuid(), sa.ForeignKey("observer_association.id")),
)

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
    sa.Column("observer_association_id", sa.Uuid(),
              sa.ForeignKey("observer_association.id")),
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


def _observations_table(prefix: str, parent: str) -> sa.Table:
    """``HasObservations``: one ``<model>_observations`` table per parent model.

    ``related_id`` has no ON DELETE: Warehouse's ORM sets it to NULL before it deletes
    the parent (the row keeps ``related_name``, the parent's repr). ``actions`` holds the
    admins' verdicts keyed by UNIX timestamp (as a string, JSON object keys).
    """
    return sa.Table(
        f"{prefix}_observations",
        metadata,
        _uuid_pk(),
        sa.Column("related_id", sa.Uuid(), sa.ForeignKey(f"{parent}.id"), nullable=True,
                  index=True),
        sa.Column("related_name", sa.String(), nullable=False),
        sa.Column("observer_id", sa.Uuid(), sa.ForeignKey("observers.id"), nullable=False),
        _now("created"),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("additional", JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("actions", JSONB, nullable=False, server_default=sa.text("'{}'")),
    )


user_events = _events_table("user", "users")
user_observations = _observations_table("user", "users")

# A freeze adds the domains of the account's verified addresses (comment "frozen"), so
# that nobody registers with them again.
prohibited_email_domains = sa.Table(
    "prohibited_email_domains",
    metadata,
    _uuid_pk(),
    _now("created"),
    sa.Column("domain", CIText, nullable=False),
    _false("is_mx_record"),
    sa.Column("prohibited_by", sa.Uuid(), sa.ForeignKey("users.id"), index=True),
    sa.Column("comment", sa.String(), nullable=False, server_default=""),
    sa.UniqueConstraint("domain", name="prohibited_email_domains_domain_key"),
)

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
project_observations = _observations_table("project", "projects")

# Names nobody may register (remove-malware adds one with observation_kind is_malware).
# Warehouse's ensure_normalized_blacklist trigger stores them normalized in PostgreSQL.
prohibited_project_names = sa.Table(
    "prohibited_project_names",
    metadata,
    _uuid_pk(),
    _now("created"),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("prohibited_by", sa.Uuid(), sa.ForeignKey("users.id"), index=True),
    sa.Column("comment", sa.String(), nullable=False, server_default=""),
    sa.Column("observation_kind", sa.String()),
    sa.UniqueConstraint("name", name="blacklist_name_key"),
)

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

release_observations = _observations_table("release", "releases")

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

file_events = _events_table("file", "release_files")

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


# maintain_project_last_serial: on insert the new id is the project's highest serial
# (journals are written in id order).
LAST_SERIAL_TRIGGER = """CREATE TRIGGER IF NOT EXISTS update_project_last_serial
    AFTER INSERT ON journals FOR EACH ROW BEGIN
        UPDATE projects SET last_serial = NEW.id WHERE name = NEW.name;
    END"""

# What Warehouse's PostgreSQL triggers do, for the index double's SQLite (see the module
# docstring). Created with the tables; IF NOT EXISTS so an older double file gets them too.
_SQLITE_TRIGGERS = (
    # projects_total_size_release_files / projects_total_size_releases
    *(f"""CREATE TRIGGER IF NOT EXISTS update_project_total_size_release_files_{op.lower()}
    AFTER {op} ON release_files FOR EACH ROW BEGIN
        UPDATE projects SET total_size = (
            SELECT COALESCE(SUM(release_files.size), 0) FROM release_files
            WHERE release_id IN (SELECT id FROM releases WHERE project_id = projects.id))
        WHERE id = (SELECT project_id FROM releases WHERE id = {row}.release_id);
    END""" for op, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))),
    """CREATE TRIGGER IF NOT EXISTS update_project_total_size_releases
    AFTER DELETE ON releases FOR EACH ROW BEGIN
        UPDATE projects SET total_size = (
            SELECT COALESCE(SUM(release_files.size), 0) FROM release_files
            WHERE release_id IN (SELECT id FROM releases WHERE project_id = OLD.project_id))
        WHERE id = OLD.project_id;
    END""",
    # releases_delete_orphaned_description
    """CREATE TRIGGER IF NOT EXISTS releases_delete_orphaned_description
    AFTER DELETE ON releases FOR EACH ROW BEGIN
        DELETE FROM release_descriptions WHERE id = OLD.description_id;
    END""",
    # update_release_files_requires_python (both triggers)
    """CREATE TRIGGER IF NOT EXISTS release_files_requires_python
    AFTER INSERT ON release_files FOR EACH ROW BEGIN
        UPDATE release_files SET requires_python = (
            SELECT requires_python FROM releases WHERE id = NEW.release_id)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS releases_requires_python
    AFTER UPDATE OF requires_python ON releases FOR EACH ROW BEGIN
        UPDATE release_files SET requires_python = NEW.requires_python
        WHERE release_id = NEW.id;
    END""",
    # The index keeps the last_serial trigger's lookup cheap.
    "CREATE INDEX IF NOT EXISTS ix_projects_name_sqlite ON projects (name)",
    LAST_SERIAL_TRIGGER,
)
for _statement in _SQLITE_TRIGGERS:
    sa.event.listen(metadata, "after_create",
                    sa.DDL(_statement).execute_if(dialect="sqlite"))  # type: ignore[no-untyped-call]
