"""THE door for admin actions: authorize, audit, then the playbook or the triage step.

See bot.actions.door for the whole; each part is a module of its own (playbooks, triage,
critical, allowlist), the actor check is bot.actions.gate, and the one audit writer is
bot.audit.
"""

from bot.actions.door import Actions
from bot.actions.errors import (
    ActionError,
    ApprovalRequired,
    Busy,
    InvalidState,
    NotAuthorized,
    NotFound,
    PlanRefused,
)
from bot.actions.gate import Gate
from bot.actions.triage import typosquat_pair
from playbooks.views import RunView, StepView

__all__ = [
    "ActionError",
    "Actions",
    "ApprovalRequired",
    "Busy",
    "Gate",
    "InvalidState",
    "NotAuthorized",
    "NotFound",
    "PlanRefused",
    "RunView",
    "StepView",
    "typosquat_pair",
]
