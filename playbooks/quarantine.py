"""quarantine / release-quarantine a project (Warehouse's lifecycle_status).

On Warehouse, entering quarantine hides the project from installers and also freezes
every account with a role on it; clearing it does not unfreeze them (use unfreeze).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from playbooks.base import (
    Check,
    Plan,
    PlaybookContext,
    Step,
    StepOutcome,
    Target,
    Verification,
)

__all__ = ["QuarantinePlaybook", "ReleaseQuarantinePlaybook"]


class _QuarantineBase:
    name: str
    destructive: bool
    description: str
    quarantined: bool

    async def plan(self, target: Target, reason: str, options: Mapping[str, Any],
                   ctx: PlaybookContext) -> Plan:
        def refused(*why: str) -> Plan:
            return Plan(self.name, target, reason, (), {}, (), why)

        if not target.project:
            return refused(f"{self.name} needs a project")
        if (why := ctx.admin.unsupported("quarantine")) is not None:
            return refused(why)
        project = await ctx.admin.project(target.project)
        if project is None:
            return refused(f"project {target.project} does not exist on the index")
        if project.quarantined == self.quarantined:
            state = "in quarantine" if self.quarantined else "not in quarantine"
            return Plan(self.name, target, reason, (), {}, (f"the project is already {state}",))
        verb = "quarantine" if self.quarantined else "release from quarantine"
        notes = ((f"also freezes the accounts with a role on it: {', '.join(project.users)}",)
                 if self.quarantined and project.users else ())
        step = Step(key=f"{self.name}:{project.name}", action=f"{self.name}-project",
                    summary=f"{verb} {project.name}", data={"project": project.name})
        return Plan(self.name, target, reason, (step,), {}, notes)

    async def apply_step(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        return StepOutcome(await ctx.admin.set_quarantined(step.data["project"],
                                                           self.quarantined, ctx.actor))

    async def verify(self, plan: Plan, ctx: PlaybookContext) -> Verification:
        name = plan.target.project or ""
        project = await ctx.admin.project(name)
        state = "in quarantine" if self.quarantined else "out of quarantine"
        checks = [Check(f"{name} is {state}",
                        project is not None and project.quarantined == self.quarantined)]
        if self.quarantined and project is not None and plan.steps:
            for user in project.users:
                account = await ctx.admin.account(user)
                checks.append(Check(f"account {user} is frozen",
                                    account is not None and account.frozen is not False))
        return Verification(tuple(checks))


class QuarantinePlaybook(_QuarantineBase):
    name = "quarantine"
    destructive = True
    description = "Put a project in quarantine: hidden from installers, its owners frozen."
    quarantined = True


class ReleaseQuarantinePlaybook(_QuarantineBase):
    name = "release-quarantine"
    destructive = False  # undoes an earlier, approved quarantine
    description = "Take a project out of quarantine."
    quarantined = False
