"""events.user indexed: the typosquat detector asks which projects an uploader was made
owner or maintainer of (the `add <Role> <user>` rows), once per flagged name

Revision ID: 0015_events_user
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_events_user"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_user"), ["user"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_user"))
