"""Warehouse's verdicts on malware reports, and how it counts an observer's accuracy.

An observation's ``actions`` is a JSON object of the admins' verdicts keyed by UNIX time
(``admin/views/malware_reports.py``: ``actions[int(now.timestamp())] = {"actor",
"action", ..., "created_at"}``). ``classify`` and ``accuracy`` are
``observations/utils.py`` ``classify_observation`` and ``calc_accuracy`` (pypi/warehouse,
read at adbead2): a report is confirmed (true positive) once its project is gone
(``related_id`` NULL) or it carries ``remove_malware`` or ``confirm_malware``; a false
positive when it carries ``verdict_not_malware`` and the project still exists; pending
otherwise (``remove_release`` and ``quarantine_release`` included: Warehouse does not
count them either way).

``actions`` comes from the index's database and is read defensively: entries that are not
objects, and keys that are not numbers, are skipped rather than trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CONFIRMED",
    "CONFIRM_MALWARE",
    "FINAL",
    "NOT_MALWARE",
    "QUARANTINE_RELEASE",
    "REMOVE_MALWARE",
    "REMOVE_RELEASE",
    "Classification",
    "Entry",
    "accuracy",
    "classify",
    "decision",
    "entries",
    "score",
]

NOT_MALWARE = "verdict_not_malware"
REMOVE_MALWARE = "remove_malware"
CONFIRM_MALWARE = "confirm_malware"  # Remove malware on a report whose project is gone
REMOVE_RELEASE = "remove_release"
QUARANTINE_RELEASE = "quarantine_release"
CONFIRMED = frozenset({REMOVE_MALWARE, CONFIRM_MALWARE})
# A verdict that decides the report (Warehouse's list shows only reports without actions;
# remove_release decides the reports naming the removed release).
FINAL = CONFIRMED | {NOT_MALWARE, REMOVE_RELEASE}

Classification = Literal["true_positive", "false_positive", "pending"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One verdict in an observation's ``actions``."""

    key: str  # the UNIX time it was keyed by, as stored (a JSON object key)
    action: str
    actor: str
    created_at: str
    reason: str | None = None
    versions: tuple[str, ...] = ()

    @property
    def at(self) -> int:
        return int(self.key)


def entries(actions: object) -> list[Entry]:
    """The well-formed verdicts of ``actions``, oldest first."""
    if not isinstance(actions, Mapping):
        return []
    found = []
    for key, value in actions.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and len(key) < 12
                and isinstance(value, Mapping)):
            continue
        versions = value.get("versions")
        reason = value.get("reason")
        found.append(Entry(
            key=key, action=str(value.get("action") or ""), actor=str(value.get("actor") or ""),
            created_at=str(value.get("created_at") or ""),
            reason=reason if isinstance(reason, str) else None,
            versions=tuple(str(v) for v in versions) if isinstance(versions, list) else ()))
    return sorted(found, key=lambda e: e.at)


def decision(actions: object) -> Entry | None:
    """The verdict that decided the report (the first final one), if any."""
    return next((e for e in entries(actions) if e.action in FINAL), None)


def classify(actions: object, related_exists: bool) -> Classification:
    """``classify_observation(actions, related_id)``."""
    if not related_exists:
        return "true_positive"
    found = entries(actions)
    if not found:
        return "pending"
    if any(e.action in CONFIRMED for e in found):
        return "true_positive"
    return "false_positive" if any(e.action == NOT_MALWARE for e in found) else "pending"


def accuracy(true_pos: int, false_pos: int) -> float | None:
    """``calc_accuracy``: the share of decided reports that were right, in percent."""
    resolved = true_pos + false_pos
    return round(true_pos / resolved * 100, 1) if resolved > 0 else None


def score(true_pos: int, false_pos: int) -> int:
    """The reputation score Warehouse ranks observers by (``admin/views/observers.py``)."""
    return true_pos * 2 - false_pos
