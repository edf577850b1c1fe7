"""What the feed tells the admins about a misbehaving index: one incident per feed and kind.

Rejected entries and documents all update one open `feed/anomaly` incident (its evidence
lists each rejection); a feed that has not completed a pass for a bounded time opens a
`feed/stalled` incident. Both are incidents like any other: deduplicated, in the outbox,
on the console and in Slack.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import RejectedEntry
from bot.incidents import record_finding
from bot.store.models import FeedCursor, FeedReject, Incident
from bot.types import Evidence, Finding, Severity

DETECTOR = "feed"
_EVIDENCE_RAW = 2000  # what of a rejected entry an incident shows (the table keeps more)


def reject_digest(reject: RejectedEntry) -> str:
    return hashlib.sha256(f"{reject.source}\0{reject.raw}".encode()).hexdigest()


async def store_rejects(
    session: AsyncSession, feed: str, rejects: Sequence[RejectedEntry], now: datetime
) -> list[RejectedEntry]:
    """Record rejections not recorded before; returns those that are new."""
    by_digest = {reject_digest(r): r for r in rejects}
    if not by_digest:
        return []
    known = set((await session.execute(
        select(FeedReject.digest).where(FeedReject.feed == feed,
                                        FeedReject.digest.in_(list(by_digest)))
    )).scalars())
    fresh = [(d, r) for d, r in by_digest.items() if d not in known]
    session.add_all(
        FeedReject(feed=feed, source=r.source[:600], serial=r.serial, digest=d,
                   received_at=now, reason=r.reason, raw=r.raw)
        for d, r in fresh)
    await session.flush()
    return [r for _, r in fresh]


def rejected_finding(feed: str, rejects: Sequence[RejectedEntry]) -> Finding:
    """One finding for a batch's new rejections (it updates the feed's open anomaly)."""
    latest = rejects[-1]
    count = f"{len(rejects)} entr{'y' if len(rejects) == 1 else 'ies'}"
    return Finding(
        detector=DETECTOR, kind="anomaly", subject=f"feed:{feed}", severity=Severity.WARNING,
        summary=(f"The index sent {count} the {feed} feed could not accept and set aside "
                 f"(latest: {latest.reason[:300]})"),
        evidence=tuple(
            Evidence(summary=f"rejected ({r.source}): {r.reason[:500]}", serial=r.serial,
                     data={"source": r.source, "raw": r.raw[:_EVIDENCE_RAW]})
            for r in rejects[-50:]),
    )


def stalled_finding(feed: str, since: datetime, reason: str) -> Finding:
    return Finding(
        detector=DETECTOR, kind="stalled", subject=f"feed:{feed}", severity=Severity.HIGH,
        summary=(f"The {feed} feed has not completed a pass since {since:%Y-%m-%d %H:%M} UTC: "
                 f"{reason[:300]}"),
        evidence=(Evidence(summary=f"feed stalled: {reason[:500]}", at=since.isoformat()),),
    )


async def note_stall(session: AsyncSession, feed: str, reason: str, now: datetime,
                     after: timedelta, notifiers: Sequence[str]) -> None:
    """Note a failed pass on the feed's cursor; one that has lasted `after` opens the
    feed's `stalled` incident (once). A feed never followed has no cursor: nothing to age."""
    row = await session.get(FeedCursor, feed)
    if row is None:
        return
    row.stalled_since = row.stalled_since or now
    row.stall_reason = reason[:4096]
    if now - row.stalled_since < after:
        return
    key = f"{DETECTOR}/stalled/feed:{feed}"
    if (await session.execute(select(Incident.id).where(Incident.open_key == key))
            ).first() is None:
        await record_finding(session, stalled_finding(feed, row.stalled_since, reason), now,
                             notifiers)
