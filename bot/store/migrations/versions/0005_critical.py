"""critical set: reasons per project, admin removals

Revision ID: 0005_critical
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_critical"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "critical_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE",
                                name=op.f("fk_critical_marks_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_critical_marks")),
        sa.UniqueConstraint("project_id", "source", name=op.f("uq_critical_marks_project_id_source")),
    )
    with op.batch_alter_table("critical_marks") as batch_op:
        batch_op.create_index(batch_op.f("ix_critical_marks_project_id"), ["project_id"])
    with op.batch_alter_table("projects") as batch_op:
        batch_op.add_column(sa.Column("critical_removed_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("critical_removed_reason", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch_op:
        batch_op.drop_column("critical_removed_reason")
        batch_op.drop_column("critical_removed_at")
    with op.batch_alter_table("critical_marks") as batch_op:
        batch_op.drop_index(batch_op.f("ix_critical_marks_project_id"))
    op.drop_table("critical_marks")
