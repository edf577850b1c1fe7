"""`warden typosquat`: check names, scan name lists, allowlist legitimate look-alikes.

`check` and `scan` are pure compute against the configured protected set (or
`--protected FILE`) and the configured allowlist; they do not open the store. The
`scan` output is a stable contract: one JSON object per flagged name,
{"name", "target", "technique", "score"}, and nothing for clean names. `target` is null
for a name flagged for its invisible characters alone (technique `invisible-characters`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from bot.actions import Actions
from bot.cli.common import (
    ActorOption,
    ConfigOption,
    JsonOption,
    default_actor,
    err,
    fail,
    out,
    run_async,
    settings_from,
    with_actions,
    with_warden,
)
from bot.cli.plain import plain
from bot.config import Settings
from bot.plaintext import reveal
from bot.wiring import Warden
from detectors.typosquat.allowlist import allowable, list_allowed
from detectors.typosquat.names import InvalidName, Name, parse_name
from detectors.typosquat.protected import (
    NamesFile,
    ProtectedListError,
    build_analyzer,
    configured_protected,
    read_protected,
)
from detectors.typosquat.verdict import Analyzer, Verdict

app = typer.Typer(help="Look-alike project names (typosquats).", no_args_is_help=True)

ProtectedOption = Annotated[Path | None, typer.Option(
    "--protected", help="Protected names: one a line, or a TSV/CSV whose first column is the "
    "name (a header line 'name...' is skipped); .gz works. Default: the configured set.")]
PROGRESS_BYTES = 256 * 1024  # show a progress bar for inputs at least this big
SHOWN_INVALID = 5  # invalid lines quoted in a scan's warning


def _analyzer(settings: Settings, protected: Path | None) -> Analyzer:
    cfg = settings.typosquat
    try:
        if protected is None:
            names = configured_protected(cfg, critical=settings.critical.projects)
            return build_analyzer(cfg, names)
        if str(protected) != "-" and not protected.is_file():
            raise fail(f"--protected {protected}: no such file")
        listed = read_protected(protected)
    except ProtectedListError as exc:
        raise fail(str(exc)) from None
    if not listed.names:
        raise fail(f"--protected {protected}: no valid project names in it")
    return build_analyzer(cfg, listed.names)


def _line(verdict: Verdict) -> Text:
    # The name is the user's or the index's text, invisible characters included.
    line = plain(f"{verdict.name}: ")
    if verdict.flagged and verdict.target is None:  # invisible characters, nothing imitated
        line.append("FLAGGED", style="bold red")
        line.append_text(plain(f" ({verdict.technique}, score {verdict.score}): "
                               f"{verdict.explanation}"))
    elif verdict.flagged:
        line.append("TYPOSQUAT", style="bold red")
        line.append_text(plain(f" of {verdict.target} ({verdict.technique}, "
                               f"score {verdict.score}): {verdict.explanation}"))
    else:
        line.append("ok", style="green")
        line.append_text(plain(f" - {verdict.note or 'resembles no protected project'}"))
    return line


@app.command("check")
def check(
    names: Annotated[list[str], typer.Argument(metavar="NAME...", help="Project names.")],
    protected: ProtectedOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Say for each name whether it looks like a typosquat, and of what. Exit 1 if any is."""
    settings = settings_from(config)
    parsed: list[Name] = []
    problems: list[str] = []
    for raw in names:
        try:
            parsed.append(parse_name(raw))
        except InvalidName as exc:
            problems.append(f"{raw[:80]!r}: {exc}")
    if problems:
        raise fail("\n".join(problems))
    analyzer = _analyzer(settings, protected)
    verdicts = [analyzer.check_name(name) for name in parsed]
    if as_json:
        out.print_json(json.dumps([
            {**v.as_json(), "flagged": v.flagged, "explanation": v.explanation, "note": v.note}
            for v in verdicts
        ]))
    else:
        for verdict in verdicts:
            out.print(_line(verdict), soft_wrap=True)
    raise typer.Exit(1 if any(v.flagged for v in verdicts) else 0)


@app.command("scan")
def scan(
    names: Annotated[str, typer.Option(
        "--names", help="Names to check, one a line ('-' for standard input; .gz works).")],
    protected: ProtectedOption = None,
    format_: Annotated[Literal["jsonl"], typer.Option(
        "--format", help="Output format: one JSON object per flagged name.")] = "jsonl",
    config: ConfigOption = None,
) -> None:
    """Check a list of names; print one JSON object per flagged name, nothing for the rest."""
    settings = settings_from(config)
    if names != "-" and not Path(names).is_file():
        raise fail(f"--names {names}: no such file")
    analyzer = _analyzer(settings, protected)
    try:
        flagged, invalid, shown = _scan(analyzer, names)
    except (OSError, EOFError) as exc:  # unreadable, or a truncated gzip file
        raise fail(f"--names {names}: cannot read ({exc})") from None
    if invalid:
        more = f" (and {invalid - len(shown)} more)" if invalid > len(shown) else ""
        err.print(plain(f"skipped {invalid} invalid name(s): {'; '.join(shown)}{more}"))
    err.print(f"{flagged} name(s) flagged", highlight=False)


def _scan(analyzer: Analyzer, path: str) -> tuple[int, int, list[str]]:
    """(names flagged, invalid lines, the first invalid lines described)."""
    flagged = invalid = 0
    shown: list[str] = []
    write = sys.stdout.write
    with NamesFile(path) as lines:
        big = lines.size is None or lines.size >= PROGRESS_BYTES
        progress = Progress(
            TextColumn("scanning {task.description}", markup=False), BarColumn(), DownloadColumn(),
            TextColumn("{task.fields[flagged]} flagged"), TimeElapsedColumn(),
            console=err, transient=True, disable=not big,
        )
        with progress:
            task = progress.add_task(reveal(lines.label), total=lines.size, flagged=0)
            for number, line in enumerate(lines, 1):
                if number % 4096 == 0:
                    progress.update(task, completed=lines.position, flagged=flagged)
                text = line.strip()
                if not text:
                    continue
                try:
                    verdict = analyzer.check(text)
                except InvalidName as exc:
                    invalid += 1
                    if len(shown) < SHOWN_INVALID:
                        shown.append(f"line {number}: {exc}")
                    continue
                if verdict.flagged:
                    flagged += 1
                    write(json.dumps(verdict.as_json()) + "\n")
    sys.stdout.flush()
    return flagged, invalid, shown


@app.command("allow")
def allow(
    candidate: Annotated[str, typer.Argument(help="The look-alike project name.")],
    target: Annotated[str, typer.Argument(help="The protected project it resembles.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the pair is legitimate (audited).")],
    config: ConfigOption = None,
    actor: ActorOption = "",
) -> None:
    """Mark a look-alike pair as legitimate (a false positive): never flagged again. Audited."""
    settings = settings_from(config)
    for raw in (candidate, target):
        try:
            allowable(raw)
        except InvalidName as exc:
            raise fail(f"{raw[:80]!r}: {exc}") from None
    if not reason.strip():
        raise fail("--reason must say why the pair is legitimate")
    who = actor or default_actor()

    async def work(actions: Actions) -> bool:
        return await actions.allow(candidate, target, who, reason)

    run_async(lambda: with_actions(settings, config, work, playbooks=False))
    out.print(plain(f"{parse_name(candidate).canonical} is allowed to resemble "
                    f"{parse_name(target).canonical} (by {who}: {reason})"))


@app.command("allowed")
def allowed(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List the allowlisted pairs recorded by admins (the configured ones are in the config)."""
    settings = settings_from(config)

    async def work(warden: Warden) -> list[dict[str, Any]]:
        async with warden.sessions() as session:
            return [{"candidate": r.candidate, "target": r.target, "reason": r.reason,
                     "actor": r.actor, "created_at": r.created_at.isoformat()}
                    for r in await list_allowed(session)]

    rows = run_async(lambda: with_warden(settings, work))
    if as_json:
        out.print_json(json.dumps(rows))
        return
    for row in rows:
        out.print(plain(f"{row['candidate']} ~ {row['target']}  {row['created_at'][:10]} "
                        f"{row['actor']}: {row['reason']}"))
    if not rows:
        out.print("no pairs allowlisted by admins yet", highlight=False)
