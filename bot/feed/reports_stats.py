"""Time to verdict and observer accuracy over a period, from the index's database.

Read from Warehouse's own rows, so verdicts made in its admin UI count as much as those
made here: a report's verdict time is the first *final* entry of its ``actions``
(``verdicts.FINAL``, keyed by UNIX time), its wait that minus ``created``; a report still
open at the end of the period is counted as pending with the time it has waited so far.
Accuracy is Warehouse's (``verdicts.classify`` / ``verdicts.accuracy``) over the reports
each observer filed in the period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.feed import reports_db as db
from detectors.reports import verdicts

__all__ = ["ObserverStats", "ReportStats", "percentile", "report_stats"]


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(slots=True)
class ObserverStats:
    name: str
    trusted: bool
    reports: int = 0
    confirmed: int = 0
    false_positives: int = 0
    pending: int = 0

    @property
    def accuracy(self) -> float | None:
        return verdicts.accuracy(self.confirmed, self.false_positives)

    def as_dict(self) -> dict[str, object]:
        return {"observer": self.name, "trusted": self.trusted, "reports": self.reports,
                "confirmed": self.confirmed, "false_positives": self.false_positives,
                "pending": self.pending, "accuracy": self.accuracy}


@dataclass(slots=True)
class ReportStats:
    since: datetime
    until: datetime
    reports: int = 0
    decided: int = 0
    waits: list[float] = field(default_factory=list)  # seconds to verdict, decided ones
    pending_waits: list[float] = field(default_factory=list)
    by_verdict: dict[str, int] = field(default_factory=dict)
    observers: list[ObserverStats] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        within = sum(1 for w in self.waits if w <= 4 * 3600)
        return {
            "since": self.since.isoformat(), "until": self.until.isoformat(),
            "reports": self.reports, "decided": self.decided,
            "pending": len(self.pending_waits),
            "time_to_verdict_seconds": {
                f"p{q}": percentile(self.waits, q) for q in (50, 90, 95, 99)},
            "decided_within_4h": round(within / self.decided * 100, 1) if self.decided else None,
            "oldest_pending_seconds": max(self.pending_waits, default=None),
            "verdicts": dict(sorted(self.by_verdict.items())),
            "observers": [o.as_dict() for o in self.observers],
        }


async def report_stats(engine: AsyncEngine, since: datetime, until: datetime | None = None
                       ) -> ReportStats:
    until = until or datetime.now(UTC)
    stats = ReportStats(since, until)
    async with engine.connect() as c:
        raws = await db.reports_between(c, since, until)
        people = await db.observers(c, {r.observer_id for r in raws})
    per: dict[str, ObserverStats] = {}
    for r in raws:
        stats.reports += 1
        entry = verdicts.decision(r.actions)
        if entry is not None:
            stats.decided += 1
            # Keys are whole seconds: a verdict within the report's second waited 0 s.
            stats.waits.append(max(0.0, entry.at - r.created.timestamp()))
            stats.by_verdict[entry.action] = stats.by_verdict.get(entry.action, 0) + 1
        else:
            stats.pending_waits.append((until - r.created).total_seconds())
        person = people.get(r.observer_id)
        o = per.setdefault(r.observer_id, ObserverStats(
            person.name if person else r.observer_id[:8], bool(person and person.trusted)))
        o.reports += 1
        kind = verdicts.classify(r.actions, r.related_exists)
        if kind == "true_positive":
            o.confirmed += 1
        elif kind == "false_positive":
            o.false_positives += 1
        else:
            o.pending += 1
    stats.observers = sorted(per.values(), key=lambda o: (-o.reports, o.name))
    return stats
