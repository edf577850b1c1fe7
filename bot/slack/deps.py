"""What the Slack listeners share: the store, the actions layer, options and the tasks
they start after ack()."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import structlog
from slack_bolt.context.async_context import AsyncBoltContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions.gate import Gate
from bot.config import Settings
from bot.slack.options import SlackOptions
from bot.slack.replay import SeenSignatures
from bot.store.db import is_sqlite
from bot.store.models import OutboxMessage

if TYPE_CHECKING:
    from bot.actions import Actions
    from detectors.typosquat.verdict import Analyzer

__all__ = ["CONTEXT_KEY", "Background", "SlackDeps", "deps_of", "request_sync"]

log = structlog.get_logger(__name__)

CONTEXT_KEY = "warden"
SYNC_KIND = "slack.sync"


class Background:
    """Tasks started after ack(): kept referenced, their failures logged, awaitable.

    Requests come first: a task waits (at most `patience` seconds) until no request has
    been answered for `grace` seconds, and at most `limit` run at once, so a burst of
    clicks is acked before the work it asked for competes for the event loop and the
    database. (Between two requests of a burst nothing is being answered for a moment;
    without the grace the work would start in those gaps.)
    """

    def __init__(self, limit: int = 4, patience: float = 0.5, grace: float = 0.03) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(limit)
        self._patience = patience
        self._grace = grace
        self._answering = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._settling: asyncio.TimerHandle | None = None

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around the handling of one request (until its response is ready)."""
        self._answering += 1
        self._quiet.clear()
        if self._settling is not None:
            self._settling.cancel()
            self._settling = None
        try:
            yield
        finally:
            self._answering -= 1
            if not self._answering:
                self._settling = asyncio.get_running_loop().call_later(self._grace, self._settled)

    def _settled(self) -> None:
        self._settling = None
        self._quiet.set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(work), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def _run(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            async with self._limit:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._quiet.wait(), self._patience)
                await work
        finally:
            work.close()  # a no-op once it ran; frees one cancelled before it could start

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("slack.background_failed", task=task.get_name(), exc_info=exc)

    async def idle(self, seconds: float = 30.0) -> None:
        """Wait (at most `seconds`) until no task is running; tasks may start more tasks."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=deadline - loop.time())

    async def close(self, seconds: float) -> None:
        """Let running work finish for `seconds`, then cancel what is left."""
        await self.idle(seconds)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


@dataclass
class SlackDeps:
    sessions: async_sessionmaker[AsyncSession]
    options: SlackOptions
    notifiers: list[str]  # names incident changes are announced to (the outbox)
    settings: Settings
    actions: Actions | None = None
    actions_problem: str = "playbooks are not configured on this instance"
    background: Background = field(default_factory=Background)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    analyzer: Analyzer | None = None
    # One connection pool for the Web API and response URLs (set while the app runs).
    http: aiohttp.ClientSession | None = None
    seen: SeenSignatures = field(init=False)
    gate: Gate = field(init=False)

    def __post_init__(self) -> None:
        shared = not is_sqlite(self.settings.store.url)  # PostgreSQL: replicas share it
        self.seen = SeenSignatures(self.sessions, self.clock, shared=shared)
        # The door's own check, for the middleware's early refusal (before any listener).
        self.gate = Gate(self.sessions, self.options.admins, self.clock)

    @property
    def door(self) -> Actions:
        """The actions layer every listener acts through (opened at start-up)."""
        if self.actions is None:
            raise RuntimeError("the Slack app is not started: no actions layer yet")
        return self.actions

    @property
    def playbooks_problem(self) -> str | None:
        """Why playbooks cannot run here, or None when they can."""
        if self.actions is None:
            return self.actions_problem
        return self.actions.unavailable if self.actions.backends is None else None

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self.background.spawn(work, name)


def deps_of(context: AsyncBoltContext) -> SlackDeps:
    deps = context[CONTEXT_KEY]
    assert isinstance(deps, SlackDeps)
    return deps


def request_sync(session: AsyncSession, now: datetime, *, incident_id: int | None = None,
                 run_id: int | None = None) -> None:
    """Ask the Slack sender (the leader's outbox) to bring a message up to date."""
    session.add(OutboxMessage(notifier="slack", incident_id=incident_id, kind=SYNC_KIND,
                              payload={"incident_id": incident_id, "run_id": run_id},
                              created_at=now, next_attempt_at=now))
