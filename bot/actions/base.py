"""What every part of the door shares: the store, the gate, the notifiers, the backends."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions.errors import ActionError
from bot.actions.gate import Gate
from bot.ledger import TrackedProjects
from playbooks.base import Playbook
from playbooks.runs import RunStore
from playbooks.settings import PlaybooksSection
from playbooks.wiring import Backends

__all__ = ["DoorBase"]


class DoorBase:
    """Attributes `Actions.__init__` sets; each part of the door (playbooks, triage,
    critical set, allowlist) is a mixin reading them."""

    sessions: async_sessionmaker[AsyncSession]
    gate: Gate
    notifiers: list[str]
    backends: Backends | None
    unavailable: str  # why playbooks cannot run here, when backends is None
    config: PlaybooksSection
    playbooks: Mapping[str, Playbook]
    store: RunStore
    owner: str
    tracked: TrackedProjects

    def require_backends(self) -> Backends:
        if self.backends is None:
            raise ActionError(self.unavailable)
        return self.backends
