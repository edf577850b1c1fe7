"""What the door says when it refuses: one family of errors whose text is for the admin."""

from __future__ import annotations

from playbooks.base import Plan

__all__ = ["ActionError", "ApprovalRequired", "Busy", "InvalidState", "NotAuthorized",
           "NotFound", "PlanRefused"]


class ActionError(Exception):
    """Refused or impossible; ``str(err)`` is the message for the admin (already audited)."""


class NotAuthorized(ActionError):
    """The actor is not in ``access.admins``, or may not do this (approve their own run)."""


class NotFound(ActionError):
    pass


class InvalidState(ActionError):
    pass


class ApprovalRequired(InvalidState):
    pass


class Busy(ActionError):
    pass


class PlanRefused(ActionError):
    def __init__(self, plan: Plan) -> None:
        super().__init__("refused: " + "; ".join(plan.blockers))
        self.plan = plan
