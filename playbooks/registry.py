"""Every playbook by name; incidents name these in their ``playbooks`` list."""

from __future__ import annotations

from playbooks.base import Playbook
from playbooks.freeze import FreezePlaybook, UnfreezePlaybook, UnverifyEmailPlaybook
from playbooks.not_malware import NotMalwarePlaybook
from playbooks.quarantine import QuarantinePlaybook, UnquarantinePlaybook
from playbooks.remove_malware import RemoveMalwarePlaybook
from playbooks.restore import RestorePlaybook
from playbooks.yank import UnyankPlaybook, YankPlaybook

__all__ = ["ALIASES", "build_playbooks", "resolve"]

# Old names still found in stored runs and incidents, and what they are called now.
ALIASES = {"release-quarantine": "unquarantine"}


def resolve(name: str) -> str:
    """The current name of a playbook (an old name maps to its successor)."""
    return ALIASES.get(name, name)


def build_playbooks() -> dict[str, Playbook]:
    """Fresh instances (restore keeps a per-instance cache of blobs it has checked)."""
    every: tuple[Playbook, ...] = (
        RestorePlaybook(), YankPlaybook(), UnyankPlaybook(), FreezePlaybook(),
        UnfreezePlaybook(), UnverifyEmailPlaybook(), QuarantinePlaybook(),
        UnquarantinePlaybook(), RemoveMalwarePlaybook(), NotMalwarePlaybook(),
    )
    return {p.name: p for p in every}
