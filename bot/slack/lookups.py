"""Read-only answers for `/warden critical|typo|domain`, from the store and the detectors.

Nothing here reaches the network: `domain` shows what the sweeps recorded (a live
check takes up to a minute and belongs to `warden domain check`), `typo` is pure compute
against the protected set (built once per process, in a thread), `critical` reads the
ledger. An area that is not installed answers so instead of failing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bot.critical import explain
from bot.slack.deps import SlackDeps
from bot.slack.render.common import esc
from bot.store.models import Incident

if TYPE_CHECKING:
    from detectors.typosquat.verdict import Analyzer

__all__ = ["BadInput", "critical_report", "domain_report", "typo_report"]

_analyzer_lock = asyncio.Lock()


class BadInput(ValueError):
    """The argument cannot be what the command needs; str(err) says why."""


def _day(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d}" if at else "unknown"


async def critical_report(deps: SlackDeps, name: str) -> str:
    async with deps.sessions() as s:
        found = await explain(s, name)
    if found is None:
        return f"`{esc(name)}` is not in the ledger (the bot never saw it on the index)."
    project, marks = found
    if not project.critical:
        removed = (f" (removed from the set {_day(project.critical_removed_at)}: "
                   f"{esc(project.critical_removed_reason)})" if project.critical_removed_at else "")
        return f"`{esc(project.name)}` is *not critical*{removed}."
    lines = [f"`{esc(project.name)}` is *critical* since {_day(project.critical_since)}:"]
    lines += [f"• {esc(m.source)}: {esc(m.detail)}" for m in marks] or \
        [f"• {esc(project.critical_reason or 'reason not recorded')}"]
    return "\n".join(lines)


async def _analyzer(deps: SlackDeps) -> Analyzer:
    from detectors.typosquat.protected import build_analyzer, configured_protected
    from detectors.typosquat.settings import TyposquatSection

    async with _analyzer_lock:
        if deps.analyzer is None:
            cfg = getattr(deps.settings, "typosquat", None)
            section = cfg if isinstance(cfg, TyposquatSection) else TyposquatSection()
            critical = list(deps.settings.critical.projects)
            deps.analyzer = await asyncio.to_thread(
                lambda: build_analyzer(section, configured_protected(section, critical=critical)))
        return deps.analyzer


async def typo_report(deps: SlackDeps, raw: str) -> str:
    try:
        from detectors.typosquat.allowlist import is_allowed
        from detectors.typosquat.names import InvalidName, parse_name
    except ImportError:
        return "The typosquat detector is not installed on this instance."
    try:
        name = parse_name(raw)
    except InvalidName as exc:
        raise BadInput(f"`{esc(raw[:100])}` is not a project name: {esc(exc)}") from None
    verdict = (await _analyzer(deps)).check_name(name)
    if verdict.flagged and verdict.target is None:  # invisible characters, nothing imitated
        return (f"`{esc(raw)}`: *flagged* ({esc(verdict.technique)}, score {verdict.score}): "
                f"{esc(verdict.explanation)}")
    if not verdict.flagged or verdict.target is None:
        return f"`{esc(raw)}`: ok, {esc(verdict.note or 'resembles no protected project')}."
    async with deps.sessions() as s:
        allowed = await is_allowed(s, verdict.canonical, verdict.target)
    text = (f"`{esc(raw)}`: *possible typosquat* of `{esc(verdict.target)}` "
            f"({esc(verdict.technique)}, score {verdict.score}): {esc(verdict.explanation)}")
    return text + ("\n_an admin allowlisted this pair as legitimate_" if allowed else "")


async def domain_report(deps: SlackDeps, raw: str) -> str:
    try:
        from detectors.domains.history import load_row_by_name
        from detectors.domains.names import BadDomain, registrable_domain
    except ImportError:
        return "The domain detector is not installed on this instance."
    try:
        name = registrable_domain(raw.rpartition("@")[2])
    except BadDomain as exc:
        raise BadInput(f"`{esc(raw[:100])}`: {esc(exc)}") from None
    async with deps.sessions() as s:
        row = await load_row_by_name(s, name)
        open_incidents = list((await s.execute(sa.select(Incident).where(
            Incident.subject == f"domain:{name}", Incident.open_key.is_not(None)))).scalars())
    if row is None:
        return (f"`{esc(name)}` is not tracked: no verified maintainer address uses it "
                "(or no sweep has run). `warden domain check` looks it up live.")
    lines = [f"`{esc(name)}`: *{esc(row.state or 'not checked yet')}*"
             + (f", expires {_day(row.expires_at)}" if row.expires_at else ""),
             f"DNS: {esc(row.dns_outcome or 'not checked')} (checked {_day(row.dns_checked_at)})"
             + (f", NS {esc(', '.join(map(str, row.dns_ns or [])))}" if row.dns_ns else ""),
             f"registry checked {_day(row.registry_checked_at)}"
             + (" · critical maintainers" if row.critical else "")]
    lines += [f"open incident *#{i.id}* ({esc(i.severity)}): {esc(i.summary)}"
              for i in open_incidents]
    return "\n".join(lines)
