"""`Actions`: the one door every admin action passes, from every face.

Slack's buttons and commands, the CLI and the scheduler call these methods; none of them
checks an actor or writes an audit row itself. Each call checks the actor against
`access.admins` (bot.actions.gate), audits the attempt (refusals included, once), then
runs the playbook (bot.actions.playbooks), the triage step (bot.actions.triage), or
changes the critical set or the typosquat allowlist. `bot.wiring` builds one `Actions`
per process with the notifiers every face shares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions.allowlist import AllowlistActions
from bot.actions.critical import CriticalActions
from bot.actions.gate import Gate
from bot.actions.playbooks import PlaybookActions
from bot.actions.triage import TriageActions
from bot.ledger import TrackedProjects
from playbooks.base import Playbook
from playbooks.registry import build_playbooks
from playbooks.runs import RunStore, new_owner
from playbooks.settings import PlaybooksSection
from playbooks.wiring import Backends

__all__ = ["Actions"]


class Actions(PlaybookActions, TriageActions, CriticalActions, AllowlistActions):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], backends: Backends | None,
                 config: PlaybooksSection, admins: Sequence[str], *,
                 notifiers: Sequence[str] = (),
                 playbooks: Mapping[str, Playbook] | None = None,
                 tracked: TrackedProjects | None = None,
                 unavailable: str = "playbooks are not configured on this instance",
                 clock: Callable[[], datetime] | None = None) -> None:
        """`backends` None: triage and the critical set still work; playbook calls are
        refused with `unavailable` (why the index or storage could not be opened)."""
        self.sessions = sessions
        self.gate = Gate(sessions, admins, clock)
        self.notifiers = list(notifiers)
        self.backends = backends
        self.unavailable = unavailable
        self.config = config
        self.playbooks = build_playbooks() if playbooks is None else playbooks
        self.store = RunStore(sessions, lease_seconds=config.lease_seconds, clock=clock)
        self.owner = new_owner()
        self.tracked = tracked if tracked is not None else TrackedProjects()

    @property
    def admins(self) -> frozenset[str]:
        return self.gate.admins

    async def close(self) -> None:
        if self.backends is not None:
            await self.backends.close()
