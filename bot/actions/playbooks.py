"""Playbooks through the door: plan, request, approve, run, resume; each audited.

    plan = await actions.plan("alice", "restore", Target(project="atomicwrites"))
    run = await actions.request("alice", "restore", Target(project="atomicwrites"),
                                reason="maintainer deleted a critical project",
                                incident_id=7)
    run = await actions.approve(run.id, "bob")        # a second, different admin
    run = await actions.run(run.id, "bob")            # apply + verify; resume() after a crash

Every attempt is audited, refusals included: an actor not in ``access.admins``, an
admin approving their own request, a plan with blockers, a run that still needs its
approval. Each step of a run is audited before and after it touches the index (see
playbooks.runs). A run that finishes and verifies marks its incident mitigated, and the
incident's notifiers (Slack included, whichever face ran it) hear of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions.base import DoorBase
from bot.actions.errors import (
    ActionError,
    ApprovalRequired,
    Busy,
    InvalidState,
    NotAuthorized,
    NotFound,
    PlanRefused,
)
from bot.audit import audit
from bot.incidents import Status, TransitionError, transition
from bot.metrics import PLAYBOOK_RUNS
from bot.store.models import Incident, TimelineEntry
from bot.store.playbook_models import PlaybookRun, RunStatus
from playbooks.base import Plan, Playbook, PlaybookContext, Target
from playbooks.registry import resolve
from playbooks.runner import Progress, execute
from playbooks.runs import LeaseLost, RunBusy, approver_of
from playbooks.views import RunView

__all__ = ["PlaybookActions"]


class PlaybookActions(DoorBase):
    """The playbook half of the door (see bot.actions.Actions for the whole)."""

    # -- helpers -----------------------------------------------------------------

    def _context(self, actor: str, incident_id: int | None = None) -> PlaybookContext:
        backends = self.require_backends()
        return PlaybookContext(self.sessions, backends.admin, backends.storage, actor,
                               self.store.last_plan, incident_id)

    async def _refuse(self, error: ActionError, *, actor: str, action: str, target: str,
                      **kw: Any) -> ActionError:
        return await self.gate.refuse(error, actor=actor, action=action, target=target, **kw)

    async def _authorize(self, actor: str, action: str, target: str, **kw: Any) -> None:
        await self.gate.authorize(actor, action, target, **kw)
        if self.backends is None:
            raise await self._refuse(ActionError(self.unavailable), actor=actor, action=action,
                                     target=target, **kw)

    async def _playbook(self, actor: str, name: str, target: str) -> Playbook:
        playbook = self.playbooks.get(resolve(name))
        if playbook is None:
            raise await self._refuse(
                NotFound(f"no playbook {name!r} (known: {', '.join(sorted(self.playbooks))})"),
                actor=actor, action="playbook.request", target=target)
        return playbook

    async def _run(self, run_id: int, actor: str, action: str) -> PlaybookRun:
        run = await self.store.get(run_id)
        if run is None:
            raise await self._refuse(NotFound(f"no playbook run {run_id}"), actor=actor,
                                     action=action, target=f"run:{run_id}", run_id=run_id)
        await self._authorize(actor, action, run.subject, reason=run.reason,
                              incident_id=run.incident_id, run_id=run.id)
        return run

    async def _plan(self, playbook: Playbook, actor: str, target: Target, reason: str,
                    options: Mapping[str, Any] | None, incident_id: int | None) -> Plan:
        plan = await playbook.plan(target, reason, options or {},
                                   self._context(actor, incident_id))
        if plan.ok and plan.steps:
            # The index must be able to say who made the change (e.g. Warehouse journals
            # name an account); refused now rather than failing at the first step.
            problem = await self.require_backends().admin.author_problem(actor)
            if problem is not None:
                return replace(plan, blockers=(problem,))
        return plan

    def approval_required(self, playbook: Playbook, plan: Plan) -> bool:
        return (playbook.destructive and bool(plan.steps) and self.config.two_admin_approval
                and playbook.name not in self.config.approval_waived)

    # -- plan and request -----------------------------------------------------------

    async def plan(self, actor: str, playbook: str, target: Target, *, reason: str = "",
                   options: Mapping[str, Any] | None = None,
                   incident_id: int | None = None) -> Plan:
        """What the playbook would change (changes nothing; refusals are audited)."""
        subject = target.describe()
        chosen = await self._playbook(actor, playbook, subject)
        await self._authorize(actor, "playbook.plan", subject, reason=reason, playbook=playbook)
        return await self._plan(chosen, actor, target, reason, options, incident_id)

    async def request(self, actor: str, playbook: str, target: Target, *, reason: str,
                      options: Mapping[str, Any] | None = None,
                      incident_id: int | None = None) -> RunView:
        """Plan and store a run; it waits for approval if the playbook is destructive."""
        subject = target.describe()
        chosen = await self._playbook(actor, playbook, subject)
        kw: dict[str, Any] = {"reason": reason, "incident_id": incident_id,
                              "playbook": playbook}
        await self._authorize(actor, "playbook.request", subject, **kw)
        if incident_id is not None:
            async with self.sessions() as s:
                missing = await s.get(Incident, incident_id) is None
            if missing:  # refused outside the read session: one connection at a time
                kw["incident_id"] = None
                raise await self._refuse(NotFound(f"no incident {incident_id}"),
                                         actor=actor, action="playbook.request",
                                         target=subject, **kw)
        plan = await self._plan(chosen, actor, target, reason, options, incident_id)
        if not plan.ok:
            raise await self._refuse(PlanRefused(plan), actor=actor, action="playbook.request",
                                     target=subject, blockers=list(plan.blockers), **kw)
        needs = self.approval_required(chosen, plan)
        async with self.sessions.begin() as s:
            run = self.store.new_run(plan, backend=self.require_backends().admin.kind,
                                     destructive=chosen.destructive, approval_required=needs,
                                     requested_by=actor, incident_id=incident_id)
            s.add(run)
            await s.flush()
            audit(s, self.store.now(), actor=actor, action="playbook.request", target=subject,
                  outcome="requested", reason=reason, incident_id=incident_id, run_id=run.id,
                  playbook=playbook, steps=len(plan.steps), approval_required=needs)
            await self._timeline(s, run, actor, "playbook requested")
        return await self.show(run.id)

    async def request_for_incident(self, actor: str, incident_id: int, playbook: str, *,
                                   reason: str | None = None, target: Target | None = None,
                                   options: Mapping[str, Any] | None = None) -> RunView:
        """``request()`` with the target and reason taken from the incident."""
        async with self.sessions() as s:
            incident = await s.get(Incident, incident_id)
        if incident is None:
            raise await self._refuse(NotFound(f"no incident {incident_id}"), actor=actor,
                                     action="playbook.request", target=f"incident:{incident_id}")
        target = target or Target.from_subject(incident.subject)
        if target is None:
            raise await self._refuse(
                InvalidState(f"incident {incident_id} ({incident.subject}) names no playbook "
                             "target; give one"), actor=actor, action="playbook.request",
                target=incident.subject, incident_id=incident_id)
        return await self.request(
            actor, playbook, target,
            reason=reason or f"incident #{incident.id}: {incident.summary}", options=options,
            incident_id=incident_id)

    # -- decisions -----------------------------------------------------------------

    async def approve(self, run_id: int, approver: str, note: str | None = None) -> RunView:
        """A second, different admin approves a run that awaits approval."""
        return await self._decide(run_id, approver, "approved", note)

    async def reject(self, run_id: int, actor: str, note: str | None = None) -> RunView:
        return await self._decide(run_id, actor, "rejected", note)

    async def _decide(self, run_id: int, actor: str, decision: str, note: str | None) -> RunView:
        action = f"playbook.{decision[:-1] if decision.endswith('ed') else decision}"
        run = await self._run(run_id, actor, action)
        kw: dict[str, Any] = {"actor": actor, "action": action, "target": run.subject,
                              "reason": run.reason, "incident_id": run.incident_id,
                              "run_id": run.id}
        if decision == "approved" and actor == run.requested_by:
            raise await self._refuse(NotAuthorized(
                f"{actor} requested run {run.id}; a second, different admin must approve it"),
                **kw)
        if run.status != RunStatus.AWAITING_APPROVAL:
            raise await self._refuse(InvalidState(
                f"run {run.id} is {run.status}, not awaiting approval"), **kw)
        async with self.sessions.begin() as s:
            row = await s.get(PlaybookRun, run.id)
            assert row is not None
            await s.refresh(row, ["approvals"])
            self.store.decide(row, actor, decision, note)
            row.status = RunStatus.READY if decision == "approved" else RunStatus.REJECTED
            audit(s, self.store.now(), outcome=decision, approver=actor, note=note, **kw)
            await self._timeline(s, row, actor, f"playbook {decision}")
        return await self.show(run.id)

    async def cancel(self, run_id: int, actor: str, note: str | None = None) -> RunView:
        run = await self._run(run_id, actor, "playbook.cancel")
        if run.status not in (RunStatus.AWAITING_APPROVAL, RunStatus.READY, RunStatus.FAILED):
            raise await self._refuse(InvalidState(f"run {run.id} is {run.status}"), actor=actor,
                                     action="playbook.cancel", target=run.subject,
                                     run_id=run.id)
        async with self.sessions.begin() as s:
            row = await s.get(PlaybookRun, run.id)
            assert row is not None
            row.status, row.updated_at = RunStatus.CANCELLED, self.store.now()
            audit(s, self.store.now(), actor=actor, action="playbook.cancel",
                  target=run.subject, outcome="cancelled", reason=run.reason,
                  incident_id=run.incident_id, run_id=run.id, note=note)
        return await self.show(run.id)

    # -- running ---------------------------------------------------------------------

    async def run(self, run_id: int, actor: str, progress: Progress | None = None) -> RunView:
        """Apply an approved (or approval-free) run and verify it."""
        return await self._execute(run_id, actor, "playbook.run", progress)

    async def resume(self, run_id: int, actor: str, progress: Progress | None = None) -> RunView:
        """Go on with a run that crashed or failed: steps already done are skipped."""
        return await self._execute(run_id, actor, "playbook.resume", progress)

    async def _execute(self, run_id: int, actor: str, action: str,
                       progress: Progress | None) -> RunView:
        run = await self._run(run_id, actor, action)
        kw: dict[str, Any] = {"actor": actor, "action": action, "target": run.subject,
                              "reason": run.reason, "incident_id": run.incident_id,
                              "run_id": run.id}
        approved = [a for a in run.approvals
                    if a.decision == "approved" and a.approver != run.requested_by]
        if run.status == RunStatus.AWAITING_APPROVAL or (run.approval_required and not approved):
            raise await self._refuse(ApprovalRequired(
                f"run {run.id} needs the approval of a second admin first "
                f"(warden playbook approve {run.id})"), **kw)
        if run.status in (RunStatus.REJECTED, RunStatus.CANCELLED):
            raise await self._refuse(InvalidState(f"run {run.id} is {run.status}"), **kw)
        if run.backend != (kind := self.require_backends().admin.kind):
            raise await self._refuse(InvalidState(
                f"run {run.id} was planned for the {run.backend} backend, "
                f"this instance drives {kind}"), **kw)
        try:
            await self.store.claim(run.id, self.owner)
        except RunBusy as exc:
            raise await self._refuse(Busy(str(exc)), **kw) from None
        async with self.sessions.begin() as s:
            audit(s, self.store.now(), outcome="started", approver=approver_of(run),
                  playbook=run.playbook, **kw)
        try:
            await execute(self.store, self.playbooks[resolve(run.playbook)], self._context(actor),
                          run.id, self.owner, progress)
        except LeaseLost as exc:
            raise Busy(str(exc)) from None
        return await self._finished(run.id, actor, action)

    async def _finished(self, run_id: int, actor: str, action: str) -> RunView:
        async with self.sessions.begin() as s:
            row = await s.get(PlaybookRun, run_id)
            assert row is not None
            audit(s, self.store.now(), actor=actor, action=action, target=row.subject,
                  outcome=row.status, reason=row.reason, incident_id=row.incident_id,
                  run_id=row.id, playbook=row.playbook, error=row.error)
            await self._timeline(s, row, actor, f"playbook {row.status}")
            if row.status == RunStatus.DONE:
                await self._mitigate(s, row, actor)
            PLAYBOOK_RUNS.labels(row.playbook, str(row.status)).inc()
        return await self.show(run_id)

    # -- incidents ---------------------------------------------------------------------

    async def _timeline(self, s: AsyncSession, run: PlaybookRun, actor: str, what: str) -> None:
        if run.incident_id is not None:
            s.add(TimelineEntry(incident_id=run.incident_id, at=self.store.now(), actor=actor,
                                action="playbook", detail={
                                    "run_id": run.id, "playbook": run.playbook,
                                    "status": run.status, "event": what}))

    async def _mitigate(self, s: AsyncSession, run: PlaybookRun, actor: str) -> None:
        """The run's incident, and the others its plan settles, become mitigated."""
        answers = Plan.from_dict(run.plan).answers
        for incident_id in (run.incident_id, *answers):
            incident = None if incident_id is None else await s.get(Incident, incident_id)
            if incident is None:
                continue
            if incident_id != run.incident_id:
                s.add(TimelineEntry(incident_id=incident_id, at=self.store.now(), actor=actor,
                                    action="playbook", detail={
                                        "run_id": run.id, "playbook": run.playbook,
                                        "status": run.status,
                                        "event": f"settled by run {run.id} "
                                                 f"({run.subject})"}))
            if Status(incident.status) not in (Status.OPEN, Status.ACKNOWLEDGED):
                continue
            await s.flush()
            try:
                await transition(s, incident, Status.MITIGATED, actor, self.store.now(),
                                 self.notifiers, note=f"playbook {run.playbook} run {run.id} "
                                                      "done and verified")
            except TransitionError:
                continue  # changed concurrently; the timeline entry still records the run

    # -- reads ---------------------------------------------------------------------------

    async def show(self, run_id: int) -> RunView:
        run = await self.store.get(run_id)
        if run is None:
            raise NotFound(f"no playbook run {run_id}")
        return RunView.of(run)

    async def list_runs(self, statuses: Sequence[str] = (), limit: int = 50) -> list[RunView]:
        return [RunView.of(r) for r in await self.store.recent(statuses, limit)]

    async def audit_trail(self, run_id: int) -> list[dict[str, Any]]:
        run = await self.store.get(run_id)
        if run is None:
            raise NotFound(f"no playbook run {run_id}")
        return [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                 "outcome": e.outcome, "approver": e.approver, "detail": e.detail}
                for e in await self.store.audit_trail(run)]
