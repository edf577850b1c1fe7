"""Tables of the Slack area (defined on bot.store.models.Base).

- ``slack_posts``: every message the bot posts once and may edit later, by a stable key
  (``incident:7`` the incident message, ``incident:7/t:42`` a timeline reply in its
  thread, ``run:5`` a playbook run message). ``ts`` set means posted; ``attempted_at``
  set without ``ts`` means a post whose outcome is unknown (a timeout, a 5xx), so the
  next attempt first looks for it in Slack instead of posting again. ``digest`` is the
  hash of what was last sent: an unchanged render is not sent again.
- ``slack_seen_requests``: signatures of signed requests already accepted within
  Slack's 5-minute window, so a replayed request is refused by every replica.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base

__all__ = ["SlackPost", "SlackSeenRequest"]


class SlackPost(Base):
    __tablename__ = "slack_posts"
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(128))  # as configured until posted, then the ID
    thread_ts: Mapped[str | None] = mapped_column(sa.String(32))
    ts: Mapped[str | None] = mapped_column(sa.String(32))
    attempted_at: Mapped[datetime | None]
    posted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    digest: Mapped[str | None] = mapped_column(sa.String(64))


class SlackSeenRequest(Base):
    __tablename__ = "slack_seen_requests"
    signature: Mapped[str] = mapped_column(sa.String(96), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)
