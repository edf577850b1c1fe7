"""yank / unyank a release, with a reason (Warehouse: "yank release" in the changelog)."""

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

__all__ = ["UnyankPlaybook", "YankPlaybook"]


class _YankBase:
    name: str
    destructive: bool
    description: str
    yanked: bool

    async def plan(self, target: Target, reason: str, options: Mapping[str, Any],
                   ctx: PlaybookContext) -> Plan:
        if not target.project or not target.version:
            return Plan.refused(self.name, target, reason, f"{self.name} needs a project and a version")
        if self.yanked and not reason.strip():
            return Plan.refused(self.name, target, reason,
                                "a yank needs a reason (installers show it to users)")
        if (why := ctx.admin.unsupported("yank")) is not None:
            return Plan.refused(self.name, target, reason, why)
        project = await ctx.admin.project(target.project)
        release = project.releases.get(target.version) if project else None
        if project is None or release is None:
            return Plan.refused(self.name, target, reason,
                                f"{target.project} {target.version} does not exist on the index")
        if release.quarantined:  # as Warehouse's yank / unyank views refuse it
            return Plan.refused(self.name, target, reason,
                                f"{project.name} {target.version} is in quarantine; clear that "
                                "first (unquarantine --version)")
        wanted_reason = reason if self.yanked else ""
        if release.yanked == self.yanked and release.yanked_reason == wanted_reason:
            state = "yanked" if self.yanked else "not yanked"
            return Plan(self.name, target, reason, (), {}, (f"the release is already {state}",))
        verb = "yank" if self.yanked else "unyank"
        step = Step(key=f"{verb}:{project.name}@{target.version}", action=f"{verb}-release",
                    summary=f"{verb} {project.name} {target.version}"
                            + (f" (reason: {reason})" if self.yanked else ""),
                    data={"project": project.name, "version": target.version,
                          "reason": wanted_reason})
        return Plan(self.name, target, reason, (step,))

    async def apply_step(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        d = step.data
        return StepOutcome(await ctx.admin.set_yanked(d["project"], d["version"], self.yanked,
                                                      d["reason"], ctx.actor))

    async def verify(self, plan: Plan, ctx: PlaybookContext) -> Verification:
        target = plan.target
        project = await ctx.admin.project(target.project or "")
        release = project.releases.get(target.version or "") if project else None
        reason = plan.reason if self.yanked else ""
        ok = release is not None and release.yanked == self.yanked \
            and release.yanked_reason == reason
        state = "yanked" if self.yanked else "not yanked"
        detail = "" if release is None else f"yanked={release.yanked} reason={release.yanked_reason!r}"
        return Verification((Check(f"{target.project} {target.version} is {state}", ok,
                                   detail or "release not found"),))


class YankPlaybook(_YankBase):
    name = "yank"
    destructive = True
    description = "Yank a release with a reason: installers skip it unless pinned exactly."
    yanked = True


class UnyankPlaybook(_YankBase):
    name = "unyank"
    destructive = False  # undoes an earlier, approved yank
    description = "Un-yank a release."
    yanked = False
