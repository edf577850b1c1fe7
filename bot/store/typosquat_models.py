"""Tables of the typosquat area (defined on bot.store.models.Base).

- `typosquat_allowlist`: (candidate, target) pairs an admin judged legitimate, e.g. from
  an incident's "false positive" action. The detector never flags an allowlisted pair
  again; who added it, when and why is kept here and in the audit log.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base


class TyposquatAllow(Base):
    __tablename__ = "typosquat_allowlist"
    __table_args__ = (sa.UniqueConstraint("candidate", "target"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    candidate: Mapped[str] = mapped_column(sa.String(512))  # PEP 503 names
    target: Mapped[str] = mapped_column(sa.String(512))
    reason: Mapped[str] = mapped_column(sa.Text)
    actor: Mapped[str] = mapped_column(sa.String(256))
    created_at: Mapped[datetime]
    incident_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("incidents.id", ondelete="SET NULL")
    )
