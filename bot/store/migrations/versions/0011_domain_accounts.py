"""domain sweep of every maintainer: roles read from the index, the read cursor, metadata emails

Revision ID: 0011_domain_accounts
Revises: 0001

Domain incidents are now one per domain (dedup key domains/domain/<subject>, whatever
the kind): an open one under the old per-kind key is moved to the new key when it is
the only open one for its domain, so the next finding updates it instead of opening a
second. Where several are open for one domain (the old behaviour) they stay as they are
and are closed as usual.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_domain_accounts"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


_REKEY = """
UPDATE incidents SET open_key = 'domains/domain/' || subject,
                     dedup_key = 'domains/domain/' || subject
WHERE detector = 'domains' AND open_key IS NOT NULL AND subject IN (
    SELECT subject FROM incidents WHERE detector = 'domains' AND open_key IS NOT NULL
    GROUP BY subject HAVING COUNT(*) = 1)
"""


def upgrade() -> None:
    op.create_table(
        "account_projects",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(length=512), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_account_projects_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "project", name=op.f("pk_account_projects")),
    )
    with op.batch_alter_table("account_projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_projects_project"), ["project"],
                              unique=False)
    op.create_table(
        "index_account_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_journal_id", sa.BigInteger(), nullable=False),
        _when("last_event_at"),
        _when("last_full_at"),
        _when("read_at"),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_account_reads")),
    )
    op.create_table(
        "project_contact_emails",
        sa.Column("project", sa.String(length=512), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=512), nullable=False),
        _when("seen_at", nullable=False),
        sa.PrimaryKeyConstraint("project", "field", name=op.f("pk_project_contact_emails")),
    )
    op.execute(_REKEY)



def downgrade() -> None:
    op.drop_table("project_contact_emails")
    op.drop_table("index_account_reads")
    with op.batch_alter_table("account_projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_projects_project"))
    op.drop_table("account_projects")
