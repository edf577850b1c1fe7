"""slack: posted messages (post once, edit in place) and seen request signatures

Revision ID: 0006_slack
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_slack"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_posts",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE",
                                name=op.f("fk_slack_posts_incident_id_incidents")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_slack_posts")),
    )
    with op.batch_alter_table("slack_posts") as batch_op:
        batch_op.create_index(batch_op.f("ix_slack_posts_incident_id"), ["incident_id"])
    op.create_table(
        "slack_seen_requests",
        sa.Column("signature", sa.String(length=96), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_slack_seen_requests")),
    )
    with op.batch_alter_table("slack_seen_requests") as batch_op:
        batch_op.create_index(batch_op.f("ix_slack_seen_requests_seen_at"), ["seen_at"])


def downgrade() -> None:
    op.drop_table("slack_seen_requests")
    op.drop_table("slack_posts")
