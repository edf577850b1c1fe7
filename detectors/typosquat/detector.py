"""The typosquat detector: a new project whose name imitates a protected one.

Runs inside the pipeline's batch transaction, so the common path is pure compute: any
event but `create` (and the first `new release` of a project never seen) returns at
once, and a create whose name resembles nothing costs a few dictionary lookups. Only a
match reads the store: the batch's own changelog rows (uploader, files), the admins'
allowlist and the maintainers of both projects (a shared maintainer means the owner of
the original made the look-alike: not a squat), and the uploader's other projects in the
stored changelog, which move the score and so the severity (verdict.score_in_context).

A name holding invisible characters (zero-width, bidi, BOM, soft hyphen) is compared
without them and raises an incident whatever it resembles: a typosquat of the protected
name it imitates, or an `invisible-characters` finding of its own. No maintainer or
allowlist entry makes such a name legitimate. The incident is about the project as the
index names it (`req\u200buests`), never the one it imitates once the characters are
left out (`requests`), so its playbooks act on the look-alike.

The protected index is built once per process, lazily (about half a second for 15,000
names), from the ranked list plus the critical projects recorded in the store; the
scheduled sweep picks up projects that became critical since.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote

import structlog
from sqlalchemy import func, select

from bot.events import EventKind, IndexEvent
from bot.names import canonicalize
from bot.plaintext import is_hidden, reveal
from bot.store.models import Event, Project
from bot.types import Evidence, Finding, Severity
from detectors.base import Context, NoSharedWork
from detectors.typosquat.allowlist import is_allowed
from detectors.typosquat.names import InvalidName, describe_hidden
from detectors.typosquat.protected import build_analyzer, configured_protected
from detectors.typosquat.settings import TyposquatSection
from detectors.typosquat.verdict import ESTABLISHED_DAYS, Analyzer, Verdict, score_in_context

log = structlog.get_logger(__name__)

PLAYBOOKS = ("quarantine", "yank", "freeze")  # "false positive" is an incident status
MAX_FOLLOWING = 500  # changelog rows of the batch read for a flagged project's uploads
MAX_LISTED_FILES = 50
MAX_LISTED_PROJECTS = 20
_JUDGED_LIMIT = 100_000  # names remembered as already judged (first release skip)


@dataclass
class Uploads:
    """What the batch says about a new project right after its creation."""

    owners: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass
class Uploaders:
    """The uploaders' other projects, as far as the stored changelog tells (the bot reads
    the index's changelog from where it started, not its whole history)."""

    others: list[str] = field(default_factory=list)
    established: list[str] = field(default_factory=list)  # known ESTABLISHED_DAYS or more

    def describe(self) -> str:
        if not self.others:
            return "the uploader owns no other project the bot knows of"
        shown = ", ".join(self.others[:MAX_LISTED_PROJECTS])
        return (f"the uploader owns {len(self.others)} other project(s) ({shown}), "
                f"{len(self.established)} of them known for {ESTABLISHED_DAYS} days or more")


class TyposquatDetector(NoSharedWork):
    """Raises a `typosquat` incident for a new project imitating a protected name."""

    name = "typosquat"

    def __init__(
        self, cfg: TyposquatSection | None = None, *, extra_protected: tuple[str, ...] = (),
        index_url: str = "https://pypi.org", analyzer: Analyzer | None = None,
    ) -> None:
        self.cfg = cfg or TyposquatSection()
        self.extra_protected = extra_protected
        self.index_url = index_url.rstrip("/")
        self._analyzer = analyzer
        self._critical_loaded = False
        self._judged: set[str] = set()

    def warm_up(self) -> None:
        """Build the index now (at start-up) rather than inside the first batch; raises
        ProtectedListError if the configured list cannot be read."""
        _ = self.analyzer

    @property
    def analyzer(self) -> Analyzer:
        """The protected index, built on first use (once per process)."""
        if self._analyzer is None:
            started = time.perf_counter()
            names = configured_protected(self.cfg, critical=self.extra_protected)
            self._analyzer = build_analyzer(self.cfg, names)
            log.info("typosquat.index_built", names=len(self._analyzer.index),
                     seconds=round(time.perf_counter() - started, 3))
        return self._analyzer

    async def on_event(self, event: IndexEvent, ctx: Context) -> list[Finding]:
        kind = event.kind
        if not self.cfg.enabled or not (
            kind is EventKind.CREATE or (kind is EventKind.NEW_RELEASE and self.cfg.first_release)
        ):
            return []
        if not self._critical_loaded:
            await self.refresh_critical(ctx)
        candidate = canonicalize(event.project)
        if kind is EventKind.NEW_RELEASE and candidate in self._judged:
            return []
        hidden = tuple(c for c in event.project if is_hidden(c))
        try:
            verdict: Verdict | None = self.analyzer.check(event.project)
        except InvalidName:
            verdict = None  # nothing a name can be compared on
        if kind is EventKind.CREATE:
            self._remember(candidate)
        flagged = verdict is not None and verdict.flagged and verdict.target is not None
        if not flagged and not hidden:
            return []
        if kind is EventKind.NEW_RELEASE:
            self._remember(candidate)
            if await self._seen_before(event, ctx):
                return []
        uploads = await self._uploads(event, ctx)
        if verdict is None or verdict.target is None:
            return [self._invisible_finding(event, hidden, uploads)]
        if not hidden and await is_allowed(ctx.session, verdict.canonical, verdict.target):
            return []
        if not hidden and await self._shared_maintainer(ctx, event, verdict, uploads):
            return []
        people = await self._uploaders(ctx, uploads, event)
        return [self._finding(event, verdict, uploads, people)]

    async def sweep(self, ctx: Context) -> list[Finding]:
        """Scheduled: protect the projects that became critical since the last time."""
        await self.refresh_critical(ctx)
        return []

    async def refresh_critical(self, ctx: Context) -> None:
        if not self.cfg.protect_critical:
            self._critical_loaded = True
            return
        names = (await ctx.session.execute(
            select(Project.normalized_name).where(Project.critical.is_(True))
        )).scalars()
        index = self.analyzer.index
        for name in names:
            if name not in index:
                index.add(name, None)
        self._critical_loaded = True

    def _remember(self, candidate: str) -> None:
        if len(self._judged) >= _JUDGED_LIMIT:
            self._judged.clear()
        self._judged.add(candidate)

    async def _seen_before(self, event: IndexEvent, ctx: Context) -> bool:
        """A release of a project the bot already knows (earlier changelog, ledger)."""
        earlier = (await ctx.session.execute(
            select(Event.serial).where(Event.project == event.project, Event.serial < event.serial)
            .limit(1)
        )).scalar_one_or_none()
        return earlier is not None or event.project in ctx.ledger.tracked

    async def _uploads(self, event: IndexEvent, ctx: Context) -> Uploads:
        """Owners, releases and files from the batch's changelog rows after this one (the
        pipeline stores the whole batch before the detectors run)."""
        rows = (await ctx.session.execute(
            select(Event).where(Event.project == event.project, Event.serial >= event.serial)
            .order_by(Event.serial).limit(MAX_FOLLOWING)
        )).scalars()
        found = Uploads(owners=[event.actor] if event.actor else [])
        for row in rows:
            if row.kind == EventKind.ROLE_ADD.value and row.user and row.user not in found.owners:
                found.owners.append(row.user)
            elif row.kind == EventKind.NEW_RELEASE.value and row.version:
                found.versions.append(row.version)
            elif row.kind == EventKind.ADD_FILE.value and row.filename:
                found.files.append(row.filename)
        return found

    async def _uploaders(self, ctx: Context, uploads: Uploads, event: IndexEvent) -> Uploaders:
        """The other projects the uploaders were given a role on in the stored changelog
        (`add Owner mallory`), oldest first: what the bot has read since it started."""
        if not uploads.owners:
            return Uploaders()
        first = func.min(Event.at)
        rows = (await ctx.session.execute(
            select(Event.project, first)
            .where(Event.user.in_(uploads.owners), Event.kind == EventKind.ROLE_ADD.value)
            .group_by(Event.project).order_by(first).limit(MAX_FOLLOWING)
        )).all()
        since, candidate = event.at - timedelta(days=ESTABLISHED_DAYS), canonicalize(event.project)
        # min() keeps the column's type: SQLite's naive values come back in UTC too.
        others = [(name, at) for name, at in rows if canonicalize(name) != candidate]
        return Uploaders(others=[name for name, _ in others],
                         established=[name for name, at in others if at <= since])

    async def _shared_maintainer(self, ctx: Context, event: IndexEvent, verdict: Verdict,
                                 uploads: Uploads) -> bool:
        """Does someone maintaining the target also own the look-alike?"""
        assert verdict.target is not None
        target_people = {
            account.username for role, account in await ctx.ledger.roles(verdict.target)
            if role.removed_at is None
        }
        if not target_people:
            return False
        owners = set(uploads.owners) | {
            # The look-alike as the index names it: a Unicode look-alike's ASCII form is
            # the target itself, whose maintainers would all seem to own the squat.
            account.username for role, account in await ctx.ledger.roles(event.project)
            if role.removed_at is None
        }
        return bool(owners & target_people)

    def _project_url(self, name: str) -> str:
        return f"{self.index_url}/project/{quote(name)}/"

    def _context(self, event: IndexEvent, uploads: Uploads) -> list[Evidence]:
        """The changelog row and what the batch says was uploaded."""
        evidence = [
            Evidence(summary=f"changelog #{event.serial}: {event.raw}", serial=event.serial,
                     at=event.at.isoformat()),
            Evidence(
                summary=(f"uploaded by {', '.join(uploads.owners)}" if uploads.owners
                         else "uploader not in the changelog batch"),
                serial=event.serial, data={"uploaders": uploads.owners},
            ),
        ]
        if uploads.versions or uploads.files:
            evidence.append(Evidence(
                summary=(f"{len(uploads.files)} file(s) in release(s) "
                         f"{', '.join(uploads.versions) or 'unknown'}"),
                serial=event.serial,
                data={"versions": uploads.versions, "files": uploads.files[:MAX_LISTED_FILES]},
            ))
        return evidence

    def _invisible_finding(self, event: IndexEvent, hidden: tuple[str, ...],
                           uploads: Uploads) -> Finding:
        """A name with invisible characters that imitates no protected name (or is no
        valid name even without them): still never a legitimate project name."""
        what = (f"Project name `{reveal(event.project)}` holds invisible characters, which no "
                f"project name can: {describe_hidden(hidden)}")
        evidence = Evidence(summary=what, serial=event.serial, at=event.at.isoformat(),
                            url=self._project_url(event.project),
                            data={"name": event.project, "technique": "invisible-characters",
                                  "characters": [f"U+{ord(c):04X}" for c in hidden]})
        return Finding(
            detector=self.name, kind="invisible-characters",
            subject=f"project:{canonicalize(event.project)}", severity=Severity.HIGH,
            summary=what, evidence=(evidence, *self._context(event, uploads)),
            playbooks=PLAYBOOKS,
        )

    def _finding(self, event: IndexEvent, verdict: Verdict, uploads: Uploads,
                 people: Uploaders) -> Finding:
        target = verdict.target
        rank = f"rank {verdict.target_rank}" if verdict.target_rank else "critical"
        score = score_in_context(verdict, other_projects=len(people.others),
                                 established=len(people.established))
        evidence = [
            Evidence(
                summary=verdict.explanation or "",
                serial=event.serial, at=event.at.isoformat(),
                url=self._project_url(event.project),
                # The index's name: an admin's "false positive" must see its invisible
                # characters (and refuse), not the protected name they hide behind.
                data={"candidate": canonicalize(event.project), "target": target,
                      "technique": verdict.technique, "score": score,
                      "name_score": verdict.score, "target_rank": verdict.target_rank,
                      "target_url": f"{self.index_url}/project/{target}/"},
            ),
            *self._context(event, uploads),
            Evidence(summary=people.describe(), serial=event.serial,
                     data={"other_projects": people.others[:MAX_LISTED_PROJECTS],
                           "other_project_count": len(people.others),
                           "established_count": len(people.established)}),
        ]
        severity = Severity.HIGH if score >= self.cfg.high_threshold else Severity.WARNING
        return Finding(
            # The project as the index names it: for `req\u200buests` or Cyrillic
            # `rеquests`, verdict.canonical is `requests`, the project being imitated.
            detector=self.name, kind="typosquat", subject=f"project:{canonicalize(event.project)}",
            severity=severity,
            summary=(f"Possible typosquat of {target} ({rank}): {verdict.explanation} "
                     f"[{verdict.technique}, score {score}]"),
            evidence=tuple(evidence), playbooks=PLAYBOOKS,
        )

