"""restore: re-create a removed project, release or file from storage, digest-checked.

From the ledger it knows every file's name, size, sha256 and blake2b_256. The plan
finds each blob (the current object, else the newest older version whose digests
match) and checks both digests; a blob that is missing or differs refuses the whole
plan with a report naming every such file, unless ``skip_missing`` restores the rest
deliberately (the plan then lists what it leaves out). Apply checks each blob against
the digests again before it touches the index (bytes read while planning are reused
within the same process; a resumed run reads them from storage again).

Scope (playbooks.restore_scope): the state just before the removal the restore answers,
from the ledger's history. Releases and files removed earlier stay removed unless
``include_earlier``; the roles are those held then; a role or release an open incident
questions is left out unless ``include_questioned`` (the plan names the incident); the
plan says which point in time it restores, and open removal incidents of the releases it
re-creates are settled with the run. When the project is re-created and its name is
prohibited (remove-malware prohibits it), the plan first allows the name again; accounts
the removal froze stay frozen (unfreeze them). The malware reports it was removed for get a
note, an ``actions`` entry "restored" with the actor and the reason, beside the verdict.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from bot.ledger import Ledger, TrackedProjects
from bot.store.models import File, Project, Release
from bot.units import human_size
from playbooks.base import (
    Check,
    Plan,
    PlaybookContext,
    Step,
    StepFailed,
    StepOutcome,
    Target,
    Verification,
)
from playbooks.index_admin.base import FileSpec, IndexProject, ProjectSpec, ReleaseSpec
from playbooks.index_admin.warehouse import FILES_PREFIX
from playbooks.restore_devpi import plan_devpi_restore
from playbooks.restore_scope import scope
from playbooks.storage.base import Digests, InvalidBlobPath, blob_path
from playbooks.storage.locate import Expected, Located, NotLocated, locate, mismatch

__all__ = ["RestorePlaybook"]

_Apply = Callable[[Step, PlaybookContext], Awaitable[StepOutcome]]
# The note a restore leaves on the reports its project was removed for (an ``actions``
# entry beside Warehouse's remove_malware verdict), and that verdict.
RESTORED = "restored"
REMOVE_MALWARE = "remove_malware"
LOCATE_CONCURRENCY = 8  # blobs looked up and hashed at once while planning
BLOB_CACHE_BYTES = 256 * 1024 * 1024


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class _BlobCache:
    """Blobs read (and checked) while planning, kept for apply in the same process.

    Safe to reuse: apply checks every blob against the step's digests again, whatever
    its source, so a stale entry can only fail a step, never restore other bytes.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._size = 0
        self._blobs: OrderedDict[tuple[str, str | None], bytes] = OrderedDict()

    def put(self, key: tuple[str, str | None], data: bytes) -> None:
        if len(data) > self._limit:
            return
        self._size += len(data) - len(self._blobs.pop(key, b""))
        self._blobs[key] = data
        while self._size > self._limit:
            self._size -= len(self._blobs.popitem(last=False)[1])

    def take(self, key: tuple[str, str | None]) -> bytes | None:
        data = self._blobs.pop(key, None)
        self._size -= len(data or b"")
        return data


class RestorePlaybook:
    name = "restore"
    destructive = True
    description = ("Re-create removed projects, releases or files from storage, each blob "
                   "checked against the ledger's sha256 and blake2b_256.")

    def __init__(self) -> None:
        self._blobs = _BlobCache(BLOB_CACHE_BYTES)
        self._apply: dict[str, _Apply] = {
            "allow-project-name": self._allow_name,
            "create-project": self._create_project,
            "create-release": self._create_release,
            "add-file": self._add_file,
            "note-restored": self._note_restored,
        }

    # -- plan ------------------------------------------------------------------

    async def plan(self, target: Target, reason: str, options: Mapping[str, Any],
                   ctx: PlaybookContext) -> Plan:
        opts = {"skip_missing": bool(options.get("skip_missing")),
                "include_earlier": bool(options.get("include_earlier")),
                "include_questioned": bool(options.get("include_questioned"))}

        if not target.project:
            return Plan.refused(self.name, target, reason, "restore needs a project", options=opts)
        if (why := ctx.admin.unsupported("restore")) is not None:
            return Plan.refused(self.name, target, reason, why, options=opts)
        if ctx.admin.kind == "devpi" and (planned := await plan_devpi_restore(
                self.name, target, reason, opts, ctx, self._blobs.put)) is not None:
            return planned  # what the devpi feed kept of this index's own package
        async with ctx.sessions() as session:
            project = await Ledger(session, TrackedProjects()).project(target.project,
                                                                       with_files=True)
            if project is None:
                return Plan.refused(self.name, target, reason,
                                    f"the ledger has no record of project {target.project}",
                                    options=opts)
            found = await scope(session, project, target, opts, ctx.incident_id)
        if found.blockers:
            return Plan.refused(self.name, target, reason, *found.blockers, options=opts,
                                as_of=found.as_of)
        chosen, notes = found.chosen, found.notes
        index = await ctx.admin.project(project.name)
        steps, problems, present = await self._file_steps(project.name, chosen, index, ctx, notes)
        if problems and not opts["skip_missing"]:
            ok = len(chosen) - present - len(problems)
            return Plan.refused(self.name, target, reason,
                                *problems, f"{len(problems)} file(s) cannot be restored from "
                                f"{ctx.storage.kind} storage, so nothing will be restored; "
                                f"--skip-missing restores the other {ok} deliberately",
                                options=opts, as_of=found.as_of)
        notes += [f"skipped (--skip-missing): {p}" for p in problems]
        if present:
            notes.append(f"{present} file(s) are already on the index with the same sha256")
        head = await self._head_steps(project, found.roles, chosen, steps, index, ctx, notes)
        back = {s.data["version"] for s in (*head, *steps) if "version" in s.data}
        answers = tuple(sorted({i for v in back for i in found.removal_incidents.get(v, ())}))
        tail = [step] if any(s.action == "create-project" for s in head) and (
            step := await self._note_step(project, reason, ctx)) is not None else []
        return Plan(self.name, target, reason, (*head, *steps, *tail), opts, tuple(notes),
                    as_of=found.as_of, answers=answers)

    @staticmethod
    async def _note_step(project: Project, reason: str, ctx: PlaybookContext) -> Step | None:
        """The project comes back after Remove malware: its reports get a note, an
        ``actions`` entry like a verdict's (Warehouse's admin UI lists each entry; its
        accuracy counts only the verdicts, so the observer keeps the confirmation)."""
        reports = [r.id for r in await ctx.admin.malware_reports(project.name)
                   if REMOVE_MALWARE in r.verdicts and RESTORED not in r.verdicts]
        if not reports:
            return None
        return Step(key=f"note-restored:{project.normalized_name}", action="note-restored",
                    summary=f"note the restore on {len(reports)} malware report(s) "
                            "decided remove_malware",
                    data={"project": project.name, "reports": reports, "reason": reason})

    async def _file_steps(self, name: str, chosen: list[tuple[Release, File]],
                          index: IndexProject | None, ctx: PlaybookContext, notes: list[str]
                          ) -> tuple[list[Step], list[str], int]:
        problems: list[str] = []
        present = 0
        wanted: list[tuple[Release, File, Expected]] = []
        for release, file in chosen:
            on_index = index.file(file.filename) if index is not None else None
            if on_index is not None:
                if on_index.sha256.lower() == file.sha256.lower():
                    present += 1
                else:
                    problems.append(f"{file.filename}: the index has a different file under "
                                    f"this name (sha256 {on_index.sha256})")
                continue
            try:
                path = FILES_PREFIX + blob_path(file.blake2b_256, file.filename)
            except InvalidBlobPath as exc:
                problems.append(f"{file.filename}: {exc}")
                continue
            wanted.append((release, file, Expected(path, file.size, file.sha256,
                                                   file.blake2b_256)))
        gate = asyncio.Semaphore(LOCATE_CONCURRENCY)

        async def find(expected: Expected) -> Located | NotLocated:
            async with gate:
                return await locate(ctx.storage, expected)

        found_all = await asyncio.gather(*(find(e) for _, _, e in wanted))
        steps: list[Step] = []
        for (release, file, expected), found in zip(wanted, found_all, strict=True):
            if not isinstance(found, Located):
                problems.append(f"{file.filename}: {found.problem}: {found.detail}")
                continue
            if found.note:
                notes.append(f"{file.filename}: {found.note}")
            self._blobs.put((expected.path, found.version_id), found.data)
            steps.append(Step(
                key=f"file:{file.filename}", action="add-file",
                summary=f"add file {file.filename} ({human_size(file.size)}) to {release.version}"
                        + (f" from version {found.version_id}" if found.version_id else ""),
                data={"project": name, "version": release.version, "filename": file.filename,
                      "size": file.size, "sha256": file.sha256.lower(),
                      "blake2b_256": file.blake2b_256.lower(),
                      "md5": Digests.of(found.data).md5, "packagetype": file.packagetype,
                      "python_version": file.python_version,
                      "requires_python": file.requires_python,
                      "upload_time": _iso(file.upload_time), "path": expected.path,
                      "blob_version": found.version_id}))
        return steps, problems, present

    async def _head_steps(self, project: Project, roles: list[tuple[str, str]],
                          chosen: list[tuple[Release, File]], file_steps: list[Step],
                          index: IndexProject | None, ctx: PlaybookContext, notes: list[str]
                          ) -> list[Step]:
        head: list[Step] = []
        if index is None and file_steps:
            prohibited = await ctx.admin.project_name_prohibited(project.name)
            if prohibited is not None:
                head.append(Step(
                    key=f"allow-name:{project.normalized_name}", action="allow-project-name",
                    summary=f"allow the name {project.name} again (it is {prohibited})",
                    data={"name": project.name}))
            for role, user in roles:
                account = await ctx.admin.account(user)
                if account is None:
                    notes.append(f"role {role} of {user} not restored: no such account")
                elif account.frozen:
                    notes.append(f"account {user} stays frozen (unfreeze it if the removal "
                                 "was a mistake)")
            head.append(Step(
                key=f"project:{project.normalized_name}", action="create-project",
                summary=f"create project {project.name}"
                        + (f" with roles {', '.join(f'{r} {u}' for r, u in roles)}"
                           if roles else ""),
                data={"name": project.name, "created": _iso(project.created_at),
                      "roles": [list(r) for r in roles]}))
        wanted = {s.data["version"] for s in file_steps}
        for release in {r.version: r for r, _ in chosen}.values():
            if release.version not in wanted or (index and release.version in index.releases):
                continue
            files = [f for r, f in chosen if r is release]
            head.append(Step(
                key=f"release:{release.version}", action="create-release",
                summary=f"create release {project.name} {release.version}"
                        + (" (yanked)" if release.yanked else ""),
                data={"project": project.name, "version": release.version,
                      "created": _iso(release.created_at),
                      "requires_python": next((f.requires_python for f in files
                                               if f.requires_python), None),
                      "requires_dist": list(release.requires_dist or []),
                      "yanked": release.yanked, "yanked_reason": release.yanked_reason or ""}))
        return head

    # -- apply -----------------------------------------------------------------

    async def apply_step(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        return await self._apply[step.action](step, ctx)

    async def _allow_name(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        return StepOutcome(await ctx.admin.allow_project_name(step.data["name"], ctx.actor))

    async def _create_project(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        d = step.data
        spec = ProjectSpec(d["name"], _when(d["created"]),
                           tuple((role, user) for role, user in d["roles"]))
        return StepOutcome(await ctx.admin.create_project(spec, ctx.actor))

    async def _create_release(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        d = step.data
        spec = ReleaseSpec(d["version"], _when(d["created"]), d["requires_python"],
                           tuple(d["requires_dist"]), d["yanked"], d["yanked_reason"])
        return StepOutcome(await ctx.admin.create_release(d["project"], spec, ctx.actor))

    async def _add_file(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        d = step.data
        blob = self._blobs.take((d["path"], d["blob_version"]))
        if blob is None:
            blob = await ctx.storage.get(d["path"], d["blob_version"])
        where = f"{ctx.storage.kind}:{d['path']}" + (
            f" version {d['blob_version']}" if d["blob_version"] else "")
        if blob is None:
            raise StepFailed(f"{d['filename']}: blob {where} is gone since the plan was made")
        problem = mismatch(Expected(d["path"], d["size"], d["sha256"], d["blake2b_256"]), blob)
        if problem is not None:
            raise StepFailed(f"{d['filename']}: blob {where} no longer matches the ledger "
                             f"({problem}); refused")
        spec = FileSpec(d["filename"], d["version"], d["size"], d["sha256"], d["blake2b_256"],
                        d["md5"], d["packagetype"], d["python_version"], d["requires_python"],
                        _when(d["upload_time"]))
        changed = await ctx.admin.add_file(d["project"], spec, blob, ctx.actor)
        return StepOutcome(changed, {"bytes": len(blob), "blob_version": d["blob_version"]})

    async def _note_restored(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        d = step.data
        return StepOutcome(await ctx.admin.record_malware_verdict(
            d["project"], RESTORED, ctx.actor, d["reports"], {"reason": d["reason"]}))

    # -- verify ----------------------------------------------------------------

    async def verify(self, plan: Plan, ctx: PlaybookContext) -> Verification:
        name = plan.target.project or ""
        index = await ctx.admin.project(name)
        checks = [Check(f"project {name} exists", index is not None or not plan.steps)]
        checks += [Check(f"the name {s.data['name']} is allowed",
                         await ctx.admin.project_name_prohibited(s.data["name"]) is None)
                   for s in plan.steps if s.action == "allow-project-name"]
        checks += [Check(f"release {s.data['version']} exists",
                         index is not None and s.data["version"] in index.releases)
                   for s in plan.steps if s.action == "create-release"]
        gate = asyncio.Semaphore(LOCATE_CONCURRENCY)

        async def check(data: Mapping[str, Any]) -> Check:
            async with gate:
                return await self._check_file(data, ctx)

        checks += await asyncio.gather(*(check(s.data) for s in plan.steps
                                         if s.action == "add-file"))
        return Verification(tuple(checks))

    @staticmethod
    async def _check_file(d: Mapping[str, Any], ctx: PlaybookContext) -> Check:
        # Read the file back the way the index serves it and hash it again.
        served = await ctx.admin.fetch_file(d["project"], d["version"], d["filename"])
        what = f"{d['filename']} served with the ledger's sha256 and blake2b_256"
        if served is None:
            return Check(what, False, "the index does not serve it")
        problem = mismatch(Expected(d["path"], d["size"], d["sha256"], d["blake2b_256"]), served)
        return Check(what, problem is None, problem or "")
