"""Tables of the malware-reports area (defined on bot.store.models.Base).

- `malware_reports_seen`: every Warehouse ``is_malware`` observation the reports source
  has handled, with the incident it went to. Written in the same transaction as that
  incident and the source's cursor (``feed_cursor`` row "reports"), so a report read
  twice (a crash before the commit, the overlap window that catches late commits) is
  handled once. ``created`` is the observation's own time, for time-to-verdict.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base

__all__ = ["ReportSeen"]


class ReportSeen(Base):
    __tablename__ = "malware_reports_seen"
    observation_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(16))  # "project" | "release" observation
    project: Mapped[str] = mapped_column(sa.String(512), index=True)  # PEP 503 name
    version: Mapped[str | None] = mapped_column(sa.String(256))
    created: Mapped[datetime]
    seen_at: Mapped[datetime]
    incident_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
