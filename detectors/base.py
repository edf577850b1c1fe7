"""The Detector protocol and the context every detector is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events import IndexEvent
from bot.types import Finding

if TYPE_CHECKING:
    from bot.ledger import Ledger


@dataclass(frozen=True, slots=True)
class Context:
    """What a detector may use: the store (inside the batch's transaction) and the time.
    (Its own settings section it was given when built, and nothing else of the config.)

    Detectors run before the ledger applies the event they look at, so the ledger
    still shows what a removal is about to take away.
    """

    session: AsyncSession
    ledger: Ledger
    now: datetime


class Detector(Protocol):
    name: str

    async def on_event(self, event: IndexEvent, ctx: Context) -> list[Finding]: ...

    async def sweep(self, ctx: Context) -> list[Finding]:
        """The leader's scheduled work; its findings commit with their incidents."""
        ...

    async def share(self, sessions: async_sessionmaker[AsyncSession], now: datetime) -> bool:
        """Help with scheduled work in progress (every replica calls it, leader or not);
        True when there was some. Work done here leaves its findings pending."""
        ...

    async def pending(self, session: AsyncSession, now: datetime) -> list[Finding]:
        """Findings shared work left pending, claimed in the leader's transaction."""
        ...


class NoSharedWork:
    """For detectors whose work is all in `on_event` and `sweep`."""

    async def share(self, sessions: async_sessionmaker[AsyncSession], now: datetime) -> bool:
        return False

    async def pending(self, session: AsyncSession, now: datetime) -> list[Finding]:
        return []
