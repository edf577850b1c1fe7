"""What Slack and the CLI show of a playbook run: plain frozen views of the stored rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.playbook_models import PlaybookRun
from playbooks.base import Plan

__all__ = ["RunView", "StepView"]


@dataclass(frozen=True, slots=True)
class StepView:
    position: int
    key: str
    action: str
    summary: str
    state: str
    changed: bool | None
    attempts: int
    error: str | None


@dataclass(frozen=True, slots=True)
class RunView:
    """A run as Slack and the CLI show it (``as_dict()`` for JSON)."""

    id: int
    playbook: str
    subject: str
    status: str
    reason: str
    incident_id: int | None
    backend: str
    destructive: bool
    approval_required: bool
    requested_by: str
    requested_at: datetime
    approvals: tuple[tuple[str, str, str | None], ...]  # (approver, decision, note)
    started_at: datetime | None
    finished_at: datetime | None
    plan: Plan
    steps: tuple[StepView, ...]
    verified: bool | None
    verification: dict[str, Any] | None
    error: str | None

    @property
    def steps_done(self) -> int:
        return sum(1 for s in self.steps if s.state == "done")

    @classmethod
    def of(cls, run: PlaybookRun) -> RunView:
        return cls(
            id=run.id, playbook=run.playbook, subject=run.subject, status=run.status,
            reason=run.reason, incident_id=run.incident_id, backend=run.backend,
            destructive=run.destructive, approval_required=run.approval_required,
            requested_by=run.requested_by, requested_at=run.requested_at,
            approvals=tuple((a.approver, a.decision, a.note) for a in run.approvals),
            started_at=run.started_at, finished_at=run.finished_at,
            plan=Plan.from_dict(run.plan),
            steps=tuple(StepView(s.position, s.key, s.action, s.summary, s.state, s.changed,
                                 s.attempts, s.error) for s in run.steps),
            verified=run.verified, verification=run.verification, error=run.error)

    def as_dict(self) -> dict[str, Any]:
        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        return {
            "id": self.id, "playbook": self.playbook, "subject": self.subject,
            "status": self.status, "reason": self.reason, "incident_id": self.incident_id,
            "backend": self.backend, "destructive": self.destructive,
            "approval_required": self.approval_required, "requested_by": self.requested_by,
            "requested_at": iso(self.requested_at),
            "approvals": [{"approver": a, "decision": d, "note": n} for a, d, n in self.approvals],
            "started_at": iso(self.started_at), "finished_at": iso(self.finished_at),
            "plan": self.plan.as_dict(), "plan_text": self.plan.text(),
            "steps_done": self.steps_done,
            "steps": [{"position": s.position, "key": s.key, "action": s.action,
                       "summary": s.summary, "state": s.state, "changed": s.changed,
                       "attempts": s.attempts, "error": s.error} for s in self.steps],
            "verified": self.verified, "verification": self.verification, "error": self.error,
        }
