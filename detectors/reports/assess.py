"""One reported project's dossier → one finding: its severity, summary and evidence.

Severity (the why is in the evidence):

- **critical**: Warehouse's own auto-quarantine rules (``observations/tasks.py``
  ``evaluate_project_for_quarantine``): a trusted observer (``users.is_observer``) reported
  the project within ``young_project_hours`` (24 h) of its creation, or at least two
  observers reported it and one of them is trusted;
- **high**: a trusted observer, two or more observers, an observer whose reports were right
  at least 90% of the time over 5 or more decided ones, or a name that imitates a protected
  project (the typosquat detector's verdict);
- **warning**: any other report, and every report on a project that is no longer on the
  index (nothing left to install, a verdict is still owed).

Evidence items carry ``data["kind"]`` (``grade``, ``project``, ``report``, ``files``,
``typosquat``); an incident keeps every version of an item, and faces show the newest
of each kind (and of each report id).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from bot.names import canonicalize
from bot.types import Evidence, Finding, Severity
from detectors.reports import verdicts
from detectors.reports.dossier import Dossier, Report
from detectors.reports.settings import ReportsSection

__all__ = ["DETECTOR", "KIND", "PLAYBOOKS", "assess", "grade", "span"]

DETECTOR = "reports"
KIND = "malware-report"
# The verdicts, each a playbook: quarantine and remove-malware act on the project or, for
# a version picked among the reported ones, on one release (Warehouse's quarantine_release
# and remove_release); then the accounts' freeze.
PLAYBOOKS = ("not-malware", "quarantine", "remove-malware", "freeze")
RELIABLE_ACCURACY = 90.0
RELIABLE_DECIDED = 5
MAX_REPORTS = 25  # newest reports kept in the evidence (the rest are counted)
MAX_RELEASES = 30
MAX_FILES = 20


def span(seconds: float) -> str:
    """A duration for people: 45 min, 3 h 10 min, 2 d 4 h."""
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def grade(d: Dossier, cfg: ReportsSection) -> tuple[Severity, list[str]]:
    """The severity and the reasons for it."""
    observers = {r.observer.id: r.observer for r in d.reports}
    trusted = [o for o in observers.values() if o.trusted]
    created = d.project.created
    young = [r for r in d.reports if r.observer.trusted and created is not None
             and (r.created - created).total_seconds() < cfg.young_project_hours * 3600]
    why: list[str] = []
    if young:
        age = span((young[0].created - created).total_seconds()) if created else "?"
        why.append(f"a trusted observer ({young[0].observer.name}) reported the project "
                   f"{age} after it was created")
    if len(observers) >= 2 and trusted:
        why.append(f"{len(observers)} observers reported it, {len(trusted)} of them trusted")
    if why:
        severity = Severity.CRITICAL
    else:
        if trusted:
            why.append(f"reported by a trusted observer ({trusted[0].name})")
        elif len(observers) >= 2:
            why.append(f"{len(observers)} observers reported it")
        reliable = [o for o in observers.values() if o.accuracy is not None
                    and o.accuracy >= RELIABLE_ACCURACY
                    and o.confirmed + o.false_positives >= RELIABLE_DECIDED]
        if reliable:
            why.append(f"{reliable[0].name}'s reports were right {reliable[0].accuracy:g}% of "
                       f"the time ({reliable[0].confirmed + reliable[0].false_positives} "
                       "decided)")
        if d.typo is not None:
            why.append(f"the name imitates {d.typo.target} ({d.typo.technique})")
        severity = Severity.HIGH if why else Severity.WARNING
        if not why:
            why.append("one report by an observer without a track record to go on")
    if not d.project.exists:
        why.append("the project is no longer on the index: nothing left to install, the "
                   "report still needs a verdict")
        severity = min(severity, Severity.WARNING, key=lambda s: s.rank)
    return severity, why


WAITING = "; waiting for a verdict since"


def _summary(d: Dossier) -> str:
    reports = d.open_reports
    observers = {r.observer.id: r.observer for r in d.reports}
    trusted = sum(1 for o in observers.values() if o.trusted)
    text = (f"{len(reports)} open malware report(s) on {d.project.name} from "
            f"{len(observers)} observer(s), {trusted} trusted")
    p = d.project
    if not p.exists:
        text += "; the project is no longer on the index"
    elif d.auto_quarantined:
        text += "; auto-quarantined by Warehouse"
    elif p.quarantined:
        text += "; in quarantine"
    # Time to verdict is the measure: say from when the oldest open report has waited.
    return text + f"{WAITING} {reports[0].created:%Y-%m-%d %H:%M} UTC"


def settled_summary(summary: str, verdict: str) -> str:
    """The summary once every report has a verdict: the wait is over, say how it ended."""
    return f"{summary.split(WAITING, 1)[0]}; {verdict}"


def _report(r: Report, cfg: ReportsSection) -> Evidence:
    o = r.observer
    about = f" on release {r.version}" if r.version else ""
    decided = r.decision
    if decided is not None:
        state = f"decided: {decided.action} by {decided.actor}"
    elif r.actions:
        state = "acted on (" + ", ".join(e.action for e in verdicts.entries(r.actions)) + \
            "), no verdict yet"
    else:
        state = "open"
    head = " ".join(r.summary.split())[:200] or "(no summary)"
    return Evidence(
        summary=f"report{about} by {o.name}{' (trusted observer)' if o.trusted else ''}, "
                f"{o.record()}; {state}: {head}",
        at=r.created.isoformat(), url=r.inspector_url,
        data={"kind": "report", "id": r.id, "table": r.table, "version": r.version,
              "observer": o.name, "observer_id": o.id, "trusted": o.trusted,
              "record": {"confirmed": o.confirmed, "false_positives": o.false_positives,
                         "pending": o.pending, "accuracy": o.accuracy},
              "summary": _clip(r.summary, cfg.summary_chars), "summary_chars": len(r.summary),
              "origin": r.origin, "open": r.open,
              "decision": None if decided is None else {
                  "action": decided.action, "actor": decided.actor,
                  "created_at": decided.created_at}})


def _project(d: Dossier, index_url: str) -> Evidence:
    p = d.project
    first = d.reports[0].created if d.reports else None
    facts = []
    if p.created:
        facts.append(f"created {p.created:%Y-%m-%d %H:%M} UTC"
                     + (f", {span((first - p.created).total_seconds())} before the first "
                        "report" if first and first >= p.created else ""))
    facts.append(f"{len(p.releases)} release(s)")
    if p.last_upload:
        facts.append(f"last upload {p.last_upload:%Y-%m-%d %H:%M} UTC")
    if not p.exists:
        facts.append("no longer on the index" + (
            f" (removed {p.removed_at:%Y-%m-%d %H:%M} UTC by {p.removed_by})"
            if p.removed_at else ""))
    elif d.auto_quarantined:
        facts.append("auto-quarantined by Warehouse"
                     + (f" at {p.quarantined_at:%Y-%m-%d %H:%M} UTC" if p.quarantined_at else ""))
    elif p.quarantined:
        facts.append(f"in quarantine (by {p.quarantined_by or 'unknown'})")
    if p.prohibited is not None:
        facts.append("the name is prohibited"
                     + (f" ({p.prohibited})" if p.prohibited else ""))
    accounts = [{"username": a.username, "joined": _iso(a.joined), "frozen": a.frozen,
                 "role": a.role, "releases": a.releases} for a in p.accounts]
    return Evidence(
        summary=f"project {p.name}: " + ", ".join(facts),
        url=f"{index_url.rstrip('/')}/project/{quote(p.name)}/",
        data={"kind": "project", "name": p.name, "exists": p.exists, "created": _iso(p.created),
              "first_upload": _iso(p.first_upload), "last_upload": _iso(p.last_upload),
              "quarantined": p.quarantined, "auto_quarantined": d.auto_quarantined,
              "quarantined_by": p.quarantined_by, "quarantined_at": _iso(p.quarantined_at),
              "removed_at": _iso(p.removed_at), "removed_by": p.removed_by,
              "prohibited": p.prohibited, "accounts": accounts,
              "uploaders": sorted({r.uploader for r in p.releases if r.uploader}),
              "versions": [r.version for r in p.releases],
              "reported_versions": sorted({r.version for r in d.open_reports if r.version}
                                          | _named_versions(d)),
              "first_report": _iso(first),
              "waiting_since": _iso(d.open_reports[0].created if d.open_reports else None)})


def _named_versions(d: Dossier) -> set[str]:
    """Versions the open reports' inspector links name (``/project/<name>/<version>/``)."""
    known = {r.version for r in d.project.releases}
    return {v for r in d.open_reports if r.inspector_url for v in known
            if f"/{v}/" in r.inspector_url}


def _files(d: Dossier) -> Evidence:
    releases = sorted(d.project.releases, key=lambda r: (r.created is not None, r.created),
                      reverse=True)
    shown = []
    for r in releases[:MAX_RELEASES]:
        shown.append({"version": r.version, "created": _iso(r.created), "uploader": r.uploader,
                      "quarantined": r.quarantined, "yanked": r.yanked,
                      "files": [{"filename": f.filename, "size": f.size, "sha256": f.sha256}
                                for f in r.files[:MAX_FILES]],
                      "more_files": max(0, len(r.files) - MAX_FILES)})
    count = sum(len(r.files) for r in d.project.releases)
    return Evidence(
        summary=f"{len(d.project.releases)} release(s) and {count} file(s) recorded with "
                "their digests (kept after a removal, for restore)",
        data={"kind": "files", "releases": shown,
              "more_releases": max(0, len(releases) - MAX_RELEASES)})


def assess(d: Dossier, cfg: ReportsSection, index_url: str) -> Finding | None:
    """The finding for a project with open reports; None when every report is decided."""
    if not d.open_reports:
        return None
    severity, why = grade(d, cfg)
    evidence = [Evidence(summary=f"severity {severity.value}: " + "; ".join(why),
                         data={"kind": "grade", "severity": severity.value, "why": why}),
                _project(d, index_url)]
    if d.project.releases:
        evidence.append(_files(d))
    if d.typo is not None:
        evidence.append(Evidence(summary=d.typo.explanation, data={
            "kind": "typosquat", "target": d.typo.target, "technique": d.typo.technique,
            "score": d.typo.score}))
    reports = list(d.reports)
    evidence += [_report(r, cfg) for r in reports[-MAX_REPORTS:]]
    if len(reports) > MAX_REPORTS:
        evidence.append(Evidence(summary=f"{len(reports) - MAX_REPORTS} older report(s) not "
                                         "shown", data={"kind": "more-reports"}))
    return Finding(detector=DETECTOR, kind=KIND, subject=f"project:{_canonical(d)}",
                   severity=severity, summary=_summary(d), evidence=tuple(evidence),
                   playbooks=PLAYBOOKS)


def _canonical(d: Dossier) -> str:
    return canonicalize(d.project.name)
