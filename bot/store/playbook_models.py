"""Tables of the playbook area (defined on bot.store.models.Base).

- ``playbook_runs``: one requested playbook: its plan (as data, so a resume applies the
  very plan that was approved, never a fresh guess), who asked and why, the incident,
  its status and the lease of the process running it.
- ``playbook_steps``: the plan's steps with their idempotency key (unique per run) and
  state (pending → running → done / failed); a step found "running" after a crash is
  simply applied again, which the backends make harmless.
- ``playbook_approvals``: a second admin's decision on a destructive run.

Every attempt (including refusals) and every step before and after it runs also goes to
``audit_log`` (bot.store.models.AuditEntry).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.store.models import Base

__all__ = ["PlaybookApproval", "PlaybookRun", "PlaybookStep", "RunStatus", "StepState"]


class RunStatus:
    AWAITING_APPROVAL = "awaiting_approval"
    READY = "ready"  # approved, or no approval needed
    RUNNING = "running"
    DONE = "done"  # every step applied and verify() passed
    FAILED = "failed"  # a step or the verification failed; resumable
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    OPEN = (AWAITING_APPROVAL, READY, RUNNING, FAILED)


class StepState:
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PlaybookRun(Base):
    __tablename__ = "playbook_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    playbook: Mapped[str] = mapped_column(sa.String(64), index=True)
    subject: Mapped[str] = mapped_column(sa.String(1024), index=True)
    target: Mapped[dict[str, Any]]
    options: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(sa.Text)
    incident_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    backend: Mapped[str] = mapped_column(sa.String(32))
    destructive: Mapped[bool]
    approval_required: Mapped[bool]
    status: Mapped[str] = mapped_column(sa.String(32), index=True)
    plan: Mapped[dict[str, Any]]
    plan_text: Mapped[str] = mapped_column(sa.Text)
    requested_by: Mapped[str] = mapped_column(sa.String(256))
    requested_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    verified: Mapped[bool | None]
    verification: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(256))
    lease_until: Mapped[datetime | None]

    steps: Mapped[list[PlaybookStep]] = relationship(
        back_populates="run", order_by="PlaybookStep.position", cascade="all, delete-orphan")
    approvals: Mapped[list[PlaybookApproval]] = relationship(
        back_populates="run", order_by="PlaybookApproval.id", cascade="all, delete-orphan")


class PlaybookStep(Base):
    __tablename__ = "playbook_steps"
    __table_args__ = (sa.UniqueConstraint("run_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("playbook_runs.id", ondelete="CASCADE"),
                                        index=True)
    position: Mapped[int]
    key: Mapped[str] = mapped_column(sa.String(1024))  # idempotency key within the run
    action: Mapped[str] = mapped_column(sa.String(64))
    summary: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(sa.String(16), default=StepState.PENDING)
    changed: Mapped[bool | None]  # False: the index already was as the step wants
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict[str, Any] | None]

    run: Mapped[PlaybookRun] = relationship(back_populates="steps")


class PlaybookApproval(Base):
    __tablename__ = "playbook_approvals"
    __table_args__ = (sa.UniqueConstraint("run_id", "approver"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("playbook_runs.id", ondelete="CASCADE"),
                                        index=True)
    approver: Mapped[str] = mapped_column(sa.String(256))
    decision: Mapped[str] = mapped_column(sa.String(16))  # approved, rejected
    note: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime]

    run: Mapped[PlaybookRun] = relationship(back_populates="approvals")
