"""playbooks: runs with their plan, steps with idempotency keys, approvals

Revision ID: 0004_playbooks
Revises: 0001
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004_playbooks"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "playbook_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("playbook", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=1024), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("destructive", sa.Boolean(), nullable=False),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("plan_text", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        _at("requested_at", False),
        _at("updated_at", False),
        _at("started_at", True),
        _at("finished_at", True),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("verification", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=256), nullable=True),
        _at("lease_until", True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_playbook_runs_incident_id_incidents"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_runs")),
    )
    with op.batch_alter_table("playbook_runs", schema=None) as batch_op:
        for column in ("incident_id", "playbook", "status", "subject"):
            batch_op.create_index(batch_op.f(f"ix_playbook_runs_{column}"), [column],
                                  unique=False)

    op.create_table(
        "playbook_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(length=256), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _at("at", False),
        sa.ForeignKeyConstraint(["run_id"], ["playbook_runs.id"],
                                name=op.f("fk_playbook_approvals_run_id_playbook_runs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_approvals")),
        sa.UniqueConstraint("run_id", "approver",
                            name=op.f("uq_playbook_approvals_run_id_approver")),
    )
    with op.batch_alter_table("playbook_approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_playbook_approvals_run_id"), ["run_id"],
                              unique=False)

    op.create_table(
        "playbook_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("started_at", True),
        _at("finished_at", True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["playbook_runs.id"],
                                name=op.f("fk_playbook_steps_run_id_playbook_runs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_steps")),
        sa.UniqueConstraint("run_id", "key", name=op.f("uq_playbook_steps_run_id_key")),
    )
    with op.batch_alter_table("playbook_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_playbook_steps_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("playbook_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playbook_steps_run_id"))
    op.drop_table("playbook_steps")
    with op.batch_alter_table("playbook_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playbook_approvals_run_id"))
    op.drop_table("playbook_approvals")
    with op.batch_alter_table("playbook_runs", schema=None) as batch_op:
        for column in ("subject", "status", "playbook", "incident_id"):
            batch_op.drop_index(batch_op.f(f"ix_playbook_runs_{column}"))
    op.drop_table("playbook_runs")
