"""Every playbook by name; incidents name these in their ``playbooks`` list."""

from __future__ import annotations

from playbooks.base import Playbook
from playbooks.freeze import FreezePlaybook, UnfreezePlaybook, UnverifyEmailPlaybook
from playbooks.quarantine import QuarantinePlaybook, ReleaseQuarantinePlaybook
from playbooks.restore import RestorePlaybook
from playbooks.yank import UnyankPlaybook, YankPlaybook

__all__ = ["build_playbooks"]


def build_playbooks() -> dict[str, Playbook]:
    """Fresh instances (restore keeps a per-instance cache of blobs it has checked)."""
    every: tuple[Playbook, ...] = (
        RestorePlaybook(), YankPlaybook(), UnyankPlaybook(), FreezePlaybook(),
        UnfreezePlaybook(), UnverifyEmailPlaybook(), QuarantinePlaybook(),
        ReleaseQuarantinePlaybook(),
    )
    return {p.name: p for p in every}
