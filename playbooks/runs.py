"""Playbook runs in the store: creation, the run lease, step states and their audit rows.

Each step transition is its own committed transaction that also renews the lease and
writes the audit row, so the audit log shows a step as started *before* the index is
touched and as done (or failed) after. The lease keeps two processes from running one
run at once; a resume takes over a run whose holder is gone (a dead process on this
host at once, any other holder once its lease expired).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.audit import audit
from bot.store.models import AuditEntry
from bot.store.playbook_models import (
    PlaybookApproval,
    PlaybookRun,
    PlaybookStep,
    RunStatus,
    StepState,
)
from playbooks.base import Plan, StepOutcome, Verification

__all__ = ["LeaseLost", "RunBusy", "RunStore", "audit", "new_owner"]

Clock = Callable[[], datetime]


class RunBusy(Exception):
    """Another live process holds the run."""


class LeaseLost(Exception):
    """This process no longer holds the run (another took it over)."""


def new_owner() -> str:
    """A lease owner id: host and pid (so a dead holder on this host is recognised)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_alive(owner: str) -> bool | None:
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return None  # can't tell from here: wait for the lease to expire
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def approver_of(run: PlaybookRun) -> str | None:
    names = [a.approver for a in run.approvals if a.decision == "approved"]
    return ", ".join(names) or None


class RunStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *,
                 lease_seconds: float = 60.0, clock: Clock | None = None) -> None:
        self.sessions = sessions
        self.lease = timedelta(seconds=lease_seconds)
        self.now: Clock = clock or (lambda: datetime.now(UTC))

    # -- reads -----------------------------------------------------------------

    @staticmethod
    def _query() -> sa.Select[PlaybookRun]:
        return sa.select(PlaybookRun).options(
            selectinload(PlaybookRun.steps), selectinload(PlaybookRun.approvals))

    async def get(self, run_id: int) -> PlaybookRun | None:
        async with self.sessions() as s:
            return (await s.execute(self._query().where(PlaybookRun.id == run_id))
                    ).scalar_one_or_none()

    async def recent(self, statuses: Sequence[str] = (), limit: int = 50) -> list[PlaybookRun]:
        query = self._query().order_by(PlaybookRun.id.desc()).limit(limit)
        if statuses:
            query = query.where(PlaybookRun.status.in_(list(statuses)))
        async with self.sessions() as s:
            return list((await s.execute(query)).scalars())

    async def last_plan(self, playbook: str, subject: str) -> Plan | None:
        """The plan of the newest finished run of ``playbook`` on ``subject``."""
        async with self.sessions() as s:
            plan = (await s.execute(
                sa.select(PlaybookRun.plan).where(
                    PlaybookRun.playbook == playbook, PlaybookRun.subject == subject,
                    PlaybookRun.status == RunStatus.DONE)
                .order_by(PlaybookRun.id.desc()).limit(1))).scalar()
        return None if plan is None else Plan.from_dict(plan)

    async def audit_trail(self, run: PlaybookRun) -> list[AuditEntry]:
        async with self.sessions() as s:
            rows = (await s.execute(
                sa.select(AuditEntry).where(AuditEntry.target == run.subject,
                                            AuditEntry.at >= run.requested_at)
                .order_by(AuditEntry.id))).scalars()
            return [r for r in rows if r.detail.get("run_id") == run.id]

    # -- lease -----------------------------------------------------------------

    async def claim(self, run_id: int, owner: str) -> None:
        """Take the run's lease and mark it running; RunBusy if a live holder has it."""
        async with self.sessions.begin() as s:
            run = await s.get(PlaybookRun, run_id)
            assert run is not None
            now, holder = self.now(), run.lease_owner
            expired = run.lease_until is None or run.lease_until < now
            if holder not in (None, owner) and not expired and _holder_alive(holder) is not False:
                raise RunBusy(f"run {run_id} is being run by {holder} (lease until "
                              f"{run.lease_until:%H:%M:%S})")
            current = (PlaybookRun.lease_owner.is_(None) if holder is None
                       else PlaybookRun.lease_owner == holder)
            result = await s.execute(
                sa.update(PlaybookRun).where(PlaybookRun.id == run_id, current)
                .values(lease_owner=owner, lease_until=now + self.lease,
                        status=RunStatus.RUNNING, updated_at=now, error=None,
                        started_at=sa.func.coalesce(PlaybookRun.started_at, now))
                .execution_options(synchronize_session=False))
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise RunBusy(f"run {run_id} was taken by another process")

    async def _renew(self, s: AsyncSession, run_id: int, owner: str) -> None:
        now = self.now()
        result = await s.execute(
            sa.update(PlaybookRun)
            .where(PlaybookRun.id == run_id, PlaybookRun.lease_owner == owner)
            .values(lease_until=now + self.lease, updated_at=now)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(f"run {run_id} was taken over by another process")

    # -- steps -----------------------------------------------------------------

    async def _step(self, s: AsyncSession, run_id: int, key: str) -> PlaybookStep:
        return (await s.execute(sa.select(PlaybookStep).where(
            PlaybookStep.run_id == run_id, PlaybookStep.key == key))).scalar_one()

    async def step_started(self, run: PlaybookRun, key: str, owner: str, actor: str) -> None:
        async with self.sessions.begin() as s:
            await self._renew(s, run.id, owner)
            step = await self._step(s, run.id, key)
            step.state, step.attempts = StepState.RUNNING, step.attempts + 1
            step.started_at, step.error = self.now(), None
            self._audit_step(s, run, step, actor, "started", attempt=step.attempts)

    async def step_done(self, run: PlaybookRun, key: str, owner: str, actor: str,
                        outcome: StepOutcome) -> None:
        async with self.sessions.begin() as s:
            await self._renew(s, run.id, owner)
            step = await self._step(s, run.id, key)
            step.state, step.changed, step.result = StepState.DONE, outcome.changed, outcome.detail
            step.finished_at = self.now()
            self._audit_step(s, run, step, actor, "done", changed=outcome.changed,
                             **outcome.detail)

    async def step_failed(self, run: PlaybookRun, key: str, owner: str, actor: str,
                          error: str) -> None:
        async with self.sessions.begin() as s:
            step = await self._step(s, run.id, key)
            step.state, step.error, step.finished_at = StepState.FAILED, error, self.now()
            self._audit_step(s, run, step, actor, "failed", error=error)
            await self._close(s, run.id, owner, RunStatus.FAILED,
                              error=f"step {step.position + 1} ({step.key}) failed: {error}")

    def _audit_step(self, s: AsyncSession, run: PlaybookRun, step: PlaybookStep, actor: str,
                    outcome: str, **detail: Any) -> None:
        audit(s, self.now(), actor=actor, action=f"{run.playbook}.{step.action}",
              target=run.subject, outcome=outcome, reason=run.reason,
              incident_id=run.incident_id, approver=approver_of(run), run_id=run.id,
              step=step.key, summary=step.summary, **detail)

    # -- end of a run ------------------------------------------------------------

    async def _close(self, s: AsyncSession, run_id: int, owner: str, status: str,
                     error: str | None = None,
                     verification: Verification | None = None) -> None:
        values: dict[str, Any] = {"status": status, "error": error, "lease_owner": None,
                                  "lease_until": None, "updated_at": self.now()}
        if verification is not None:
            values.update(verified=verification.ok, verification=verification.as_dict(),
                          finished_at=self.now())
        await s.execute(sa.update(PlaybookRun).where(PlaybookRun.id == run_id,
                                                     PlaybookRun.lease_owner == owner)
                        .values(**values).execution_options(synchronize_session=False))

    async def finish(self, run: PlaybookRun, owner: str, actor: str,
                     verification: Verification) -> None:
        async with self.sessions.begin() as s:
            failures = "; ".join(f"{c.what}: {c.detail}" for c in verification.failures())
            status = RunStatus.DONE if verification.ok else RunStatus.FAILED
            await self._close(s, run.id, owner, status,
                              error=f"verification failed: {failures}" if failures else None,
                              verification=verification)
            audit(s, self.now(), actor=actor, action="playbook.verify", target=run.subject,
                  outcome="done" if verification.ok else "failed", reason=run.reason,
                  incident_id=run.incident_id, approver=approver_of(run), run_id=run.id,
                  playbook=run.playbook, verification=verification.as_dict())

    async def abandon(self, run: PlaybookRun, owner: str, error: str) -> None:
        """Give the lease back after an unexpected error, leaving the run resumable."""
        async with self.sessions.begin() as s:
            await self._close(s, run.id, owner, RunStatus.FAILED, error=error)

    # -- creation and decisions ----------------------------------------------------

    def new_run(self, plan: Plan, *, backend: str, destructive: bool, approval_required: bool,
                requested_by: str, incident_id: int | None) -> PlaybookRun:
        now = self.now()
        return PlaybookRun(
            playbook=plan.playbook, subject=plan.target.describe(), target=plan.target.as_dict(),
            options=plan.options, reason=plan.reason, incident_id=incident_id, backend=backend,
            destructive=destructive, approval_required=approval_required,
            status=RunStatus.AWAITING_APPROVAL if approval_required else RunStatus.READY,
            plan=plan.as_dict(), plan_text=plan.text(), requested_by=requested_by,
            requested_at=now, updated_at=now,
            steps=[PlaybookStep(position=i, key=step.key, action=step.action,
                                summary=step.summary, data=step.data, state=StepState.PENDING,
                                attempts=0)
                   for i, step in enumerate(plan.steps)],
            approvals=[])

    def decide(self, run: PlaybookRun, approver: str, decision: str,
               note: str | None) -> PlaybookApproval:
        now = self.now()
        approval = PlaybookApproval(approver=approver, decision=decision, note=note, at=now)
        run.approvals.append(approval)
        run.updated_at = now
        return approval
