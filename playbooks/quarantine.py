"""quarantine / unquarantine a project, or one release of it (Warehouse's lifecycle_status).

Project (``warden quarantine PROJECT``): Warehouse's ``quarantine_project`` hides the
project from installers and freezes every account with a role on it; clearing it does
not unfreeze them (use unfreeze). Release (``--version V``): ``quarantine_release`` hides
that release only; the other releases stay installable and nobody is frozen (remove-malware
is the verdict that freezes). "unquarantine" was called "release-quarantine" before;
the old name still resolves (playbooks.registry.ALIASES).
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
from playbooks.index_admin.base import IndexProject

__all__ = ["QuarantinePlaybook", "UnquarantinePlaybook"]


class _QuarantineBase:
    name: str
    destructive: bool
    description: str
    quarantined: bool

    async def plan(self, target: Target, reason: str, options: Mapping[str, Any],
                   ctx: PlaybookContext) -> Plan:
        if not target.project:
            return Plan.refused(self.name, target, reason, f"{self.name} needs a project")
        action = "quarantine-release" if target.version else "quarantine"
        if (why := ctx.admin.unsupported(action)) is not None:
            return Plan.refused(self.name, target, reason, why)
        project = await ctx.admin.project(target.project)
        if project is None:
            return Plan.refused(self.name, target, reason,
                                f"project {target.project} does not exist on the index")
        if target.version:
            if target.version not in project.releases:
                return Plan.refused(self.name, target, reason,
                                    f"{project.name} {target.version} does not exist on the index")
            return self._release_plan(project, target.version, target, reason)
        return await self._project_plan(project, target, reason, ctx)

    def _release_plan(self, project: IndexProject, version: str, target: Target,
                      reason: str) -> Plan:
        if project.releases[version].quarantined == self.quarantined:
            state = "in quarantine" if self.quarantined else "not in quarantine"
            return Plan(self.name, target, reason, (), {},
                        (f"release {version} is already {state}",))
        verb = "quarantine release" if self.quarantined else "clear the quarantine of release"
        step = Step(key=f"{self.name}:{project.name}@{version}", action=f"{self.name}-release",
                    summary=f"{verb} {project.name} {version}",
                    data={"project": project.name, "version": version})
        notes: tuple[str, ...] = ("the other releases stay installable and nobody is frozen "
                                  "(remove-malware freezes the owners)",) \
            if self.quarantined else ()
        if project.quarantined:
            notes += ("the whole project is in quarantine too",)
        return Plan(self.name, target, reason, (step,), {}, notes)

    async def _project_plan(self, project: IndexProject, target: Target, reason: str,
                            ctx: PlaybookContext) -> Plan:
        if project.quarantined == self.quarantined:
            state = "in quarantine" if self.quarantined else "not in quarantine"
            return Plan(self.name, target, reason, (), {}, (f"the project is already {state}",))
        verb = "quarantine" if self.quarantined else "clear the quarantine of"
        notes: tuple[str, ...] = ()
        if self.quarantined and project.users:
            notes = (f"also freezes the accounts with a role on it: {', '.join(project.users)}",)
        elif not self.quarantined:
            frozen = [u for u in project.users
                      if (account := await ctx.admin.account(u)) is not None and account.frozen]
            if frozen:
                notes = (f"accounts with a role on it stay frozen: {', '.join(frozen)} "
                         "(unfreeze them separately)",)
        step = Step(key=f"{self.name}:{project.name}", action=f"{self.name}-project",
                    summary=f"{verb} {project.name}", data={"project": project.name})
        return Plan(self.name, target, reason, (step,), {}, notes)

    async def apply_step(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        d = step.data
        if "version" in d:
            return StepOutcome(await ctx.admin.set_release_quarantined(
                d["project"], d["version"], self.quarantined, ctx.actor))
        return StepOutcome(await ctx.admin.set_quarantined(d["project"], self.quarantined,
                                                           ctx.actor))

    async def verify(self, plan: Plan, ctx: PlaybookContext) -> Verification:
        name, version = plan.target.project or "", plan.target.version
        project = await ctx.admin.project(name)
        state = "in quarantine" if self.quarantined else "out of quarantine"
        if version:
            release = project.releases.get(version) if project else None
            return Verification((Check(f"{name} {version} is {state}", release is not None
                                       and release.quarantined == self.quarantined),))
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
    description = ("Put a project in quarantine (hidden from installers, its owners frozen), "
                   "or one release of it (--version).")
    quarantined = True


class UnquarantinePlaybook(_QuarantineBase):
    name = "unquarantine"
    destructive = False  # undoes an earlier, approved quarantine
    description = "Take a project, or one release of it (--version), out of quarantine."
    quarantined = False
