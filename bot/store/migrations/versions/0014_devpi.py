"""devpi: the private indexes the devpi feed follows (servers, users, indexes, projects,
files with digests and stored copies, and the events derived from the changelog)

Revision ID: 0014_devpi
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_devpi"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "devpi_servers",
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_devpi_servers")),
    )
    op.create_table(
        "devpi_users",
        sa.Column("username", sa.String(length=256), nullable=False),
        sa.Column("email", sa.String(length=512), nullable=True),
        sa.Column("removed_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_devpi_users")),
    )
    op.create_table(
        "devpi_indexes",
        sa.Column("name", sa.String(length=600), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("bases", sa.JSON(), nullable=False),
        sa.Column("acl_upload", sa.JSON(), nullable=False),
        sa.Column("mirror_whitelist", sa.JSON(), nullable=False),
        sa.Column("whitelist_inheritance", sa.String(length=32), nullable=False),
        sa.Column("updated_serial", sa.BigInteger(), nullable=False),
        sa.Column("removed_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_devpi_indexes")),
    )
    op.create_table(
        "devpi_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("index", sa.String(length=600), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("normalized_name", sa.String(length=512), nullable=False),
        sa.Column("created_serial", sa.BigInteger(), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("removed_at", _AT, nullable=True),
        sa.Column("removed_serial", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devpi_projects")),
        sa.UniqueConstraint("index", "normalized_name",
                            name=op.f("uq_devpi_projects_index_normalized_name")),
    )
    op.create_index(op.f("ix_devpi_projects_normalized_name"), "devpi_projects",
                    ["normalized_name"])
    op.create_table(
        "devpi_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("relpath", sa.String(length=2048), nullable=False),
        sa.Column("index", sa.String(length=600), nullable=False),
        sa.Column("project", sa.String(length=512), nullable=False),
        sa.Column("version", sa.String(length=512), nullable=False),
        sa.Column("filename", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("blake2b_256", sa.String(length=64), nullable=True),
        sa.Column("blob_path", sa.String(length=2048), nullable=True),
        sa.Column("uploader", sa.String(length=256), nullable=True),
        sa.Column("added_serial", sa.BigInteger(), nullable=False),
        sa.Column("added_at", _AT, nullable=False),
        sa.Column("removed_at", _AT, nullable=True),
        sa.Column("removed_serial", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devpi_files")),
        sa.UniqueConstraint("relpath", name=op.f("uq_devpi_files_relpath")),
    )
    op.create_index(op.f("ix_devpi_files_project"), "devpi_files", ["project"])
    op.create_table(
        "devpi_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("index", sa.String(length=600), nullable=False),
        sa.Column("project", sa.String(length=600), nullable=False),
        sa.Column("version", sa.String(length=512), nullable=True),
        sa.Column("filename", sa.String(length=1024), nullable=True),
        sa.Column("user", sa.String(length=256), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devpi_events")),
    )
    op.create_index("ix_devpi_events_feed_serial", "devpi_events", ["feed", "serial"])


def downgrade() -> None:
    op.drop_index("ix_devpi_events_feed_serial", table_name="devpi_events")
    op.drop_table("devpi_events")
    op.drop_index(op.f("ix_devpi_files_project"), table_name="devpi_files")
    op.drop_table("devpi_files")
    op.drop_index(op.f("ix_devpi_projects_normalized_name"), table_name="devpi_projects")
    op.drop_table("devpi_projects")
    op.drop_table("devpi_indexes")
    op.drop_table("devpi_users")
    op.drop_table("devpi_servers")
