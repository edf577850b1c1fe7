"""The playbook framework: targets, plans made of keyed steps, outcomes and verification.

A playbook never acts on a guess. ``plan()`` reads the ledger and the index and returns
the exact changes as data (``Plan.as_dict()``, stored with the run so a resume applies
the very same plan) and as text (``Plan.text()``). Each step carries a key that is
unique within its plan; the runner (:mod:`playbooks.runner`) skips steps already done
and every ``apply_step()`` is idempotent on the index itself (it checks and changes in
one index transaction), so a crash between "changed on the index" and "marked done in
the store" only makes the resumed step find nothing left to do. ``verify()`` reads the
index back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.names import canonicalize
from bot.plaintext import reveal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from playbooks.index_admin.base import IndexAdmin
    from playbooks.storage.base import BlobStorage

__all__ = [
    "Check",
    "Plan",
    "Playbook",
    "PlaybookContext",
    "PlaybookError",
    "Step",
    "StepFailed",
    "StepOutcome",
    "Target",
    "Unsupported",
    "Verification",
]


class PlaybookError(Exception):
    """A playbook cannot go on; ``str(err)`` is the report an admin reads."""


class StepFailed(PlaybookError):
    """One step could not be applied (a blob went missing, a digest differs...)."""


class Unsupported(PlaybookError):
    """The index backend cannot do this at all (e.g. yank on devpi)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What a playbook acts on: a project (release, file), an account or an address."""

    project: str | None = None
    version: str | None = None
    filename: str | None = None
    account: str | None = None
    email: str | None = None

    def describe(self) -> str:
        """Stable subject string, like incidents use: ``project:name@1.0/file``."""
        if self.email:
            return f"email:{self.email.lower()}"
        if self.account:
            return f"account:{self.account}"
        subject = f"project:{canonicalize(self.project or '')}"
        if self.version:
            subject += f"@{self.version}"
        if self.filename:
            subject += f"/{self.filename}"
        return subject

    @classmethod
    def from_subject(cls, subject: str) -> Target | None:
        """The target an incident subject names (``project:x@1.0``, ``account:a``,
        ``email:e``), or None for subjects no playbook acts on (``domain:...``)."""
        kind, _, rest = subject.partition(":")
        if kind == "project":
            name, _, version = rest.partition("@")
            return cls(project=name, version=version or None)
        return {"account": cls(account=rest), "email": cls(email=rest)}.get(kind)

    def as_dict(self) -> dict[str, str]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        return cls(**{f.name: str(data[f.name]) for f in fields(cls)
                      if data.get(f.name) is not None})


@dataclass(frozen=True, slots=True)
class Step:
    """One change. ``key`` is unique within the plan; ``data`` is all apply needs (JSON)."""

    key: str
    action: str
    summary: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "action": self.action, "summary": self.summary,
                "data": self.data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        return cls(data["key"], data["action"], data["summary"], dict(data.get("data") or {}))


@dataclass(frozen=True, slots=True)
class Plan:
    """The exact changes a playbook would make, and why it may refuse to make them.

    ``blockers`` non-empty means the plan must not run (nothing is half-done without
    saying so); ``notes`` are facts the admin should read (skipped files, old blob
    versions used, users who will be frozen as a side effect). ``as_of`` says which
    point in time the plan brings back (restore); ``answers`` lists other open incidents
    the run settles besides its own (marked mitigated with it).
    """

    playbook: str
    target: Target
    reason: str
    steps: tuple[Step, ...]
    options: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    blockers: tuple[str, ...] = ()
    as_of: str = ""
    answers: tuple[int, ...] = ()

    @classmethod
    def refused(cls, playbook: str, target: Target, reason: str, *blockers: str,
                options: Mapping[str, Any] | None = None, as_of: str = "") -> Plan:
        """A plan that must not run: no steps, only the ``blockers`` saying why."""
        return cls(playbook, target, reason, (), dict(options or {}), (), blockers,
                   as_of=as_of)

    @property
    def ok(self) -> bool:
        return not self.blockers

    def text(self) -> str:
        lines = [f"playbook {self.playbook} on {self.target.describe()}",
                 f"reason: {self.reason or '-'}"]
        if self.options:
            lines.append("options: " + ", ".join(f"{k}={v}" for k, v in sorted(self.options.items())))
        if self.as_of:
            lines.append(f"restores: {self.as_of}")
        if self.blockers:
            lines.append(f"REFUSED ({len(self.blockers)} problem(s)):")
            lines.extend(f"  ! {b}" for b in self.blockers)
        if self.steps:
            lines.append(f"{len(self.steps)} change(s):")
            lines.extend(f"  {i:>3}. {s.summary}" for i, s in enumerate(self.steps, 1))
        else:
            lines.append("nothing to change")
        lines.extend(f"  note: {n}" for n in self.notes)
        if self.answers:
            lines.append("also settles open incident(s) "
                         + ", ".join(f"#{i}" for i in self.answers)
                         + " (marked mitigated when the run is verified)")
        # One line per item: a line break (or any hidden character) inside an upstream
        # value (a version, a file name, a fault string) is written as an escape, so it
        # cannot start a line of its own that reads like part of the plan.
        return "\n".join(reveal(line) for line in lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook, "target": self.target.as_dict(), "reason": self.reason,
            "options": self.options, "steps": [s.as_dict() for s in self.steps],
            "notes": list(self.notes), "blockers": list(self.blockers),
            "as_of": self.as_of, "answers": list(self.answers),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        return cls(
            playbook=data["playbook"], target=Target.from_dict(data["target"]),
            reason=data.get("reason", ""), options=dict(data.get("options") or {}),
            steps=tuple(Step.from_dict(s) for s in data.get("steps", ())),
            notes=tuple(data.get("notes", ())), blockers=tuple(data.get("blockers", ())),
            as_of=str(data.get("as_of") or ""),
            answers=tuple(int(i) for i in data.get("answers") or ()),
        )


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """``changed`` is False when the index already was as the step wants it."""

    changed: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Check:
    what: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Verification:
    """What ``verify()`` read back from the index, check by check."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [
            {"what": c.what, "ok": c.ok, "detail": c.detail} for c in self.checks]}


# The most recent finished plan of (playbook, subject), for playbooks that undo another.
PlanHistory = Callable[[str, str], Awaitable["Plan | None"]]


@dataclass(frozen=True, slots=True)
class PlaybookContext:
    """What a playbook may use: the store (ledger reads), the index and the blob storage;
    ``incident_id``, the incident the plan answers (when it answers one)."""

    sessions: async_sessionmaker[AsyncSession]
    admin: IndexAdmin
    storage: BlobStorage
    actor: str
    history: PlanHistory
    incident_id: int | None = None

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


class Playbook(Protocol):
    """plan → (approve) → apply each step → verify. See the module docstring."""

    name: str
    destructive: bool
    description: str

    async def plan(self, target: Target, reason: str, options: Mapping[str, Any],
                   ctx: PlaybookContext) -> Plan: ...

    async def apply_step(self, step: Step, ctx: PlaybookContext) -> StepOutcome: ...

    async def verify(self, plan: Plan, ctx: PlaybookContext) -> Verification: ...
