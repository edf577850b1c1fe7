"""restore on devpi: plan from what the devpi feed kept (``devpi_files``), not the PyPI
ledger (a devpi index is its own namespace).

The point restored is the project's latest removal on the backend's index
(``playbooks.devpi_index``): the files removed at that serial (narrowed to
``--version`` / ``--file``). Each file must have a copy in storage whose size, sha256
and blake2b-256 match what the feed recorded when it fetched it (sha256 as devpi's
changelog said); apply checks the blob again and re-uploads it through devpi's upload
API (release registered first), and verify reads it back from devpi and hashes it.
The steps are the restore playbook's own ``create-release`` and ``add-file``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from bot.names import canonicalize
from bot.store.devpi_models import DevpiFile
from playbooks.base import Plan, PlaybookContext, Step, Target
from playbooks.storage.locate import Expected, Located, locate

__all__ = ["plan_devpi_restore"]


async def plan_devpi_restore(name: str, target: Target, reason: str, opts: dict[str, bool],
                             ctx: PlaybookContext,
                             remember: Callable[[tuple[str, str | None], bytes], None]
                             ) -> Plan | None:
    """The restore plan on a devpi backend; `remember` keeps the blobs read for apply.
    None when the devpi feed never saw a file of the project removed from that index
    (the restore then plans from the PyPI ledger, as for a public project)."""
    index = getattr(ctx.admin, "index", "")

    project = canonicalize(target.project or "")
    async with ctx.sessions() as session:
        base = (DevpiFile.index == index, DevpiFile.project == project)
        latest = (await session.execute(select(func.max(DevpiFile.removed_serial)).where(
            *base))).scalar()
        if latest is None:
            return None
        query = select(DevpiFile).where(*base, DevpiFile.removed_serial == latest)
        if target.version:
            query = query.where(DevpiFile.version == target.version)
        if target.filename:
            query = query.where(DevpiFile.filename == target.filename)
        files = list((await session.execute(query.order_by(DevpiFile.id))).scalars())
    if not files:
        return Plan.refused(name, target, reason,
                            f"nothing of {target.describe()} was removed from {index} at serial "
                            f"{latest}, the latest removal", options=opts)
    on_index = await ctx.admin.project(project)
    steps: list[Step] = []
    problems: list[str] = []
    notes: list[str] = [f"restores {project} on {index} as before devpi serial {latest}"]
    versions: dict[str, None] = {}
    for file in files:
        present = on_index.file(file.filename) if on_index is not None else None
        if present is not None:
            if present.sha256.lower() != file.sha256:
                problems.append(f"{file.filename}: devpi has a different file under this name "
                                f"(sha256 {present.sha256})")
            else:
                notes.append(f"{file.filename} is already on {index} with the same sha256")
            continue
        if file.blob_path is None or file.size is None or file.blake2b_256 is None:
            problems.append(f"{file.filename}: the feed kept no copy (it was gone or too "
                            "large when the upload was seen)")
            continue
        found = await locate(ctx.storage, Expected(file.blob_path, file.size, file.sha256,
                                                   file.blake2b_256))
        if not isinstance(found, Located):
            problems.append(f"{file.filename}: {found.problem}: {found.detail}")
            continue
        remember((file.blob_path, found.version_id), found.data)
        if on_index is None or file.version not in on_index.releases:
            versions[file.version] = None
        steps.append(Step(
            key=f"file:{file.filename}", action="add-file",
            summary=f"upload {file.filename} ({file.size:,} bytes) to {index} {file.version}",
            data={"project": project, "version": file.version, "filename": file.filename,
                  "size": file.size, "sha256": file.sha256, "blake2b_256": file.blake2b_256,
                  "md5": None, "packagetype": None, "python_version": None,
                  "requires_python": None, "upload_time": None, "path": file.blob_path,
                  "blob_version": found.version_id}))
    if problems and not opts.get("skip_missing"):
        return Plan.refused(name, target, reason,
                            *problems, f"{len(problems)} file(s) cannot be restored, so nothing "
                                       "will be; --skip-missing restores the others deliberately",
                            options=opts)
    notes += [f"skipped (--skip-missing): {p}" for p in problems]
    head = [Step(key=f"release:{version}", action="create-release",
                 summary=f"register release {project} {version} on {index}",
                 data={"project": project, "version": version, "created": None,
                       "requires_python": None, "requires_dist": [], "yanked": False,
                       "yanked_reason": ""})
            for version in versions]
    return Plan(name, target, reason, (*head, *steps), opts, tuple(notes))
