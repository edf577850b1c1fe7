"""feed: rejected entries and documents, where a feed started, and when it stalled

Revision ID: 0007_feed_rejects
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_feed_rejects"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_rejects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=600), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_rejects")),
        sa.UniqueConstraint("feed", "digest", name=op.f("uq_feed_rejects_feed_digest")),
    )
    with op.batch_alter_table("feed_cursor") as batch_op:
        batch_op.add_column(sa.Column("first_serial", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("stalled_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("stall_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed_cursor") as batch_op:
        batch_op.drop_column("stall_reason")
        batch_op.drop_column("stalled_since")
        batch_op.drop_column("first_serial")
    op.drop_table("feed_rejects")
