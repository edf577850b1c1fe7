"""The Slack notifier: the outbox sender that keeps Slack in step with the store.

Each delivery renders the incident as it is now (not the payload's snapshot) and makes
Slack match: the incident message posted once and edited in place, each timeline entry
posted once as a reply in its thread, and each playbook run message (plan, approvals,
progress, result) in the same thread. Runs that answer no incident get a message of
their own in the default channel. A failure raises DeliveryError: the outbox keeps the
row and tries again later, and what was already posted is not posted again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.incidents import get_incident
from bot.notify.base import DeliveryError
from bot.slack.client import RetryPolicy, posting_client, web_client
from bot.slack.options import SlackOptions
from bot.slack.posts import Posted, Poster
from bot.slack.render.incident import incident_message, timeline_reply
from bot.slack.render.page import page_message
from bot.slack.render.run import run_message
from bot.store.playbook_models import PlaybookRun
from bot.store.slack_models import SlackPost
from playbooks.views import RunView

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["SlackNotifier"]

log = structlog.get_logger(__name__)

BROADCAST = frozenset({"reminded", "escalated", "paged"})  # thread replies also shown in the channel


def _playbook_names() -> frozenset[str]:
    from playbooks.registry import build_playbooks

    return frozenset(build_playbooks())


class SlackNotifier:
    name = "slack"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], options: SlackOptions, *,
                 retry: RetryPolicy | None = None, playbooks: Collection[str] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.sessions = sessions
        self.options = options
        self.playbooks = frozenset(playbooks) if playbooks is not None else _playbook_names()
        self.poster = Poster(sessions, posting_client(options, retry),
                             web_client(options, retry), clock)

    async def deliver(self, kind: str, payload: dict[str, Any]) -> None:
        try:
            if payload.get("incident_id") is not None:
                await self.sync_incident(int(payload["incident_id"]))
            elif payload.get("run_id") is not None:
                await self.sync_run(int(payload["run_id"]))
        except DeliveryError:
            raise
        except Exception as exc:  # a bug or a store hiccup: keep the row, say why
            log.exception("slack.delivery_failed", kind=kind)
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    async def _runs(self, s: AsyncSession, **where: int) -> list[RunView]:
        query = sa.select(PlaybookRun).options(
            selectinload(PlaybookRun.steps), selectinload(PlaybookRun.approvals)
        ).filter_by(**where).order_by(PlaybookRun.id)
        return [RunView.of(r) for r in (await s.execute(query)).scalars()]

    async def sync_incident(self, incident_id: int) -> None:
        async with self.sessions() as s:
            incident = await get_incident(s, incident_id)
            if incident is None:
                return
            runs = await self._runs(s, incident_id=incident_id)
            posted = set((await s.execute(sa.select(SlackPost.key).where(
                SlackPost.incident_id == incident_id, SlackPost.ts.is_not(None)))).scalars())
        root = await self.poster.ensure(
            f"incident:{incident_id}", self.options.channel_for(incident.severity),
            incident_message(incident, self.options.index_url, self.playbooks),
            incident_id=incident_id)
        for entry in incident.timeline:
            key = f"incident:{incident_id}/t:{entry.id}"
            if key not in posted:
                await self.poster.ensure(key, root.channel, timeline_reply(entry),
                                         thread_ts=root.ts, incident_id=incident_id,
                                         editable=False, broadcast=entry.action in BROADCAST)
            page = (entry.detail or {}).get("channel") if entry.action == "paged" else None
            if page and f"{key}/page" not in posted:  # escalated to a second channel
                link = f"https://slack.com/archives/{root.channel}/p{root.ts.replace('.', '')}"
                await self.poster.ensure(f"{key}/page", str(page),
                                         page_message(incident, entry, link),
                                         incident_id=incident_id, editable=False)
        for run in runs:
            await self._run_message(run, root)

    async def _run_message(self, run: RunView, root: Posted | None) -> None:
        channel = root.channel if root else self.options.channel
        await self.poster.ensure(f"run:{run.id}", channel, run_message(run),
                                 thread_ts=root.ts if root else None,
                                 incident_id=run.incident_id)

    async def sync_run(self, run_id: int) -> None:
        async with self.sessions() as s:
            runs = await self._runs(s, id=run_id)
        if not runs:
            return
        if runs[0].incident_id is not None:
            await self.sync_incident(runs[0].incident_id)
        else:
            await self._run_message(runs[0], None)


def build_notifier(settings: Settings, sessions: async_sessionmaker[AsyncSession]
                   ) -> SlackNotifier:
    return SlackNotifier(sessions, SlackOptions.from_settings(settings))
