"""`warden ledger`: what the bot has recorded about a project."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from bot.cli.common import (
    ConfigOption,
    JsonOption,
    fail,
    out,
    run_async,
    settings_from,
    with_warden,
)
from bot.cli.plain import markup, plain
from bot.ledger import Ledger
from bot.units import human_size
from bot.wiring import Warden

app = typer.Typer(help="What the bot has recorded about projects.", no_args_is_help=True)


@app.command("show")
def show(
    project: Annotated[str, typer.Argument(help="Project name (any PEP 503 spelling).")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show what the ledger holds for a project: releases, files with digests, roles."""
    settings = settings_from(config)

    async def work(warden: Warden) -> dict[str, Any] | None:
        async with warden.sessions() as session:
            ledger = Ledger(session, warden.pipeline.tracked)
            p = await ledger.project(project, with_files=True)
            if p is None:
                return None
            roles = await ledger.roles(project)
            return {
                "name": p.name, "critical": p.critical, "critical_reason": p.critical_reason,
                "removed_at": p.removed_at.isoformat() if p.removed_at else None,
                "quarantined": p.quarantined,
                "releases": [
                    {"version": r.version, "yanked": r.yanked,
                     "removed_at": r.removed_at.isoformat() if r.removed_at else None,
                     "files": [{"filename": f.filename, "size": f.size, "sha256": f.sha256,
                                "blake2b_256": f.blake2b_256, "path": f.path,
                                "removed": f.removed_at is not None} for f in r.files]}
                    for r in p.releases
                ],
                "roles": [{"user": a.username, "role": r.role,
                           "removed": r.removed_at is not None} for r, a in roles],
            }

    data = run_async(lambda: with_warden(settings, work))
    if data is None:
        raise fail(f"the ledger does not track {project!r}", code=1)
    if as_json:
        out.print_json(json.dumps(data))
        return
    flags = [f for f, on in (("critical", data["critical"]), ("removed", data["removed_at"]),
                             ("quarantined", data["quarantined"])) if on]
    # Names, versions, file names and users are the index's text: printed as plain text.
    out.print(markup("[bold]{}[/] {}", data["name"], " ".join(flags)))
    for r in data["releases"]:
        state = " yanked" if r["yanked"] else ""
        state += " removed" if r["removed_at"] else ""
        out.print(plain(f"  {r['version']}{state}"))
        for f in r["files"]:
            out.print(plain(f"    {f['filename']} {human_size(f['size'])} sha256={f['sha256'][:16]}…"
                            + (" removed" if f["removed"] else "")))
    for role in data["roles"]:
        out.print(plain(f"  {role['role']}: {role['user']}"
                        + (" (removed)" if role["removed"] else "")))
