"""domain sweep: domains, email links, observation history, sweep queue, alerts

Revision ID: 0003_domains
Revises: 0001
Create Date: 2026-11-29 19:00:56.720767
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_domains"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def _index(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f(f"ix_{table}_{'_'.join(columns)}"), list(columns), unique=False
        )


def upgrade() -> None:
    op.create_table(
        "domain_sweeps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("running_key", sa.String(length=16), nullable=True),
        _when("started_at", nullable=False),
        _when("finished_at"),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_sweeps")),
        sa.UniqueConstraint("running_key", name=op.f("uq_domain_sweeps_running_key")),
    )
    _index("domain_sweeps", "status")

    op.create_table(
        "domains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("tld", sa.String(length=64), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("mailbox_provider", sa.Boolean(), nullable=False),
        _when("first_seen_at", nullable=False),
        _when("dns_attempted_at"),
        _when("dns_checked_at"),
        sa.Column("dns_failures", sa.Integer(), nullable=False),
        sa.Column("dns_outcome", sa.String(length=16), nullable=True),
        sa.Column("dns_ns", sa.JSON(), nullable=True),
        sa.Column("dns_mx", sa.JSON(), nullable=True),
        _when("nxdomain_since"),
        _when("nxdomain_last_seen_at"),
        sa.Column("dns_obs_id", sa.Integer(), nullable=True),
        sa.Column("dns_obs_fp", sa.String(length=32), nullable=True),
        _when("registry_attempted_at"),
        _when("registry_checked_at"),
        sa.Column("registry_obs_id", sa.Integer(), nullable=True),
        sa.Column("registry_obs_fp", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=True),
        _when("expires_at"),
        _when("registered_at"),
        sa.Column("registrar", sa.String(length=512), nullable=True),
        _when("flagged_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domains")),
        sa.UniqueConstraint("name", name=op.f("uq_domains_name")),
    )
    _index("domains", "dns_checked_at")
    _index("domains", "flagged_at")
    _index("domains", "registry_checked_at")

    op.create_table(
        "domain_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        _when("raised_at", nullable=False),
        _fk("domain_alerts", "domain_id", "domains"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_alerts")),
        sa.UniqueConstraint(
            "domain_id", "kind", "key", name=op.f("uq_domain_alerts_domain_id_kind_key")
        ),
    )

    op.create_table(
        "domain_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("server", sa.String(length=512), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        _when("first_seen_at", nullable=False),
        _when("last_seen_at", nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        _fk("domain_observations", "domain_id", "domains"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_observations")),
    )
    _index("domain_observations", "domain_id", "source", "id")

    op.create_table(
        "domain_pending_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("finding", sa.JSON(), nullable=False),
        _when("created_at", nullable=False),
        _when("delivered_at"),
        _fk("domain_pending_findings", "domain_id", "domains"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_pending_findings")),
    )
    _index("domain_pending_findings", "delivered_at")

    op.create_table(
        "domain_sweep_queue",
        sa.Column("sweep_id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("server", sa.String(length=512), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        _when("lease_until"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _fk("domain_sweep_queue", "domain_id", "domains"),
        _fk("domain_sweep_queue", "sweep_id", "domain_sweeps"),
        sa.PrimaryKeyConstraint("sweep_id", "domain_id", name=op.f("pk_domain_sweep_queue")),
    )
    _index("domain_sweep_queue", "sweep_id", "stage", "priority")

    op.create_table(
        "domain_email_links",
        sa.Column("email_id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=512), nullable=False),
        _fk("domain_email_links", "domain_id", "domains"),
        _fk("domain_email_links", "email_id", "emails"),
        sa.PrimaryKeyConstraint("email_id", name=op.f("pk_domain_email_links")),
    )
    _index("domain_email_links", "domain_id")


def downgrade() -> None:
    for table in ("domain_email_links", "domain_sweep_queue", "domain_pending_findings",
                  "domain_observations", "domain_alerts", "domains", "domain_sweeps"):
        op.drop_table(table)
