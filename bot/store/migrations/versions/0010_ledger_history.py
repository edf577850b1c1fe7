"""ledger: the history of changes to tracked projects (point-in-time restores)

Revision ID: 0010_ledger_history
Revises: 0001

Seeded from what the ledger's rows still tell: role grants with their serial, and every
removal (project, release, file, role). Removals carried over have no serial, except a
project's own; a release or file removed together with its project is covered by the
project's row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_ledger_history"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEED = (
    """INSERT INTO ledger_changes (project_id, serial, at, kind, username, role)
       SELECT r.project_id, r.added_serial, r.added_at, 'role_add', a.username, r.role
       FROM roles r JOIN accounts a ON a.id = r.account_id
       WHERE r.added_serial IS NOT NULL AND r.added_at IS NOT NULL""",
    """INSERT INTO ledger_changes (project_id, serial, at, kind, username, role)
       SELECT r.project_id, NULL, r.removed_at, 'role_remove', a.username, r.role
       FROM roles r JOIN accounts a ON a.id = r.account_id WHERE r.removed_at IS NOT NULL""",
    """INSERT INTO ledger_changes (project_id, serial, at, kind)
       SELECT id, removed_serial, removed_at, 'remove_project' FROM projects
       WHERE removed_at IS NOT NULL""",
    """INSERT INTO ledger_changes (project_id, serial, at, kind, version)
       SELECT r.project_id, NULL, r.removed_at, 'remove_release', r.version
       FROM releases r JOIN projects p ON p.id = r.project_id
       WHERE r.removed_at IS NOT NULL
         AND (p.removed_at IS NULL OR r.removed_at <> p.removed_at)""",
    """INSERT INTO ledger_changes (project_id, serial, at, kind, version, filename)
       SELECT r.project_id, NULL, f.removed_at, 'remove_file', r.version, f.filename
       FROM files f JOIN releases r ON r.id = f.release_id JOIN projects p ON p.id = r.project_id
       WHERE f.removed_at IS NOT NULL
         AND (r.removed_at IS NULL OR f.removed_at <> r.removed_at)
         AND (p.removed_at IS NULL OR f.removed_at <> p.removed_at)""",
)


def upgrade() -> None:
    op.create_table(
        "ledger_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=512), nullable=True),
        sa.Column("filename", sa.String(length=1024), nullable=True),
        sa.Column("username", sa.String(length=256), nullable=True),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE",
                                name=op.f("fk_ledger_changes_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_changes")),
    )
    op.create_index("ix_ledger_changes_project_id_serial", "ledger_changes",
                    ["project_id", "serial"])
    for statement in _SEED:
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_ledger_changes_project_id_serial", table_name="ledger_changes")
    op.drop_table("ledger_changes")
