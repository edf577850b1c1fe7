"""typosquat: the admins' allowlist of legitimate look-alike pairs

Revision ID: 0002_typosquat
Revises: 0001
Create Date: 2026-11-29 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_typosquat"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "typosquat_allowlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate", sa.String(length=512), nullable=False),
        sa.Column("target", sa.String(length=512), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"],
            name=op.f("fk_typosquat_allowlist_incident_id_incidents"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_typosquat_allowlist")),
        sa.UniqueConstraint(
            "candidate", "target", name=op.f("uq_typosquat_allowlist_candidate_target")
        ),
    )


def downgrade() -> None:
    op.drop_table("typosquat_allowlist")
