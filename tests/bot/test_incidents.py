"""Incidents on both stores: dedup, escalation, lifecycle, outbox, console delivery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.incidents import Status, TransitionError, get_incident, record_finding, transition
from bot.notify.base import DeliveryError
from bot.notify.outbox import deliver_pending
from bot.store.db import create_engine, session_factory
from bot.store.models import Incident, OutboxMessage
from bot.types import Evidence, Finding, Severity

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def finding(severity: Severity = Severity.HIGH, serial: int = 1, subject: str = "project:x") -> Finding:
    return Finding(
        detector="critical", kind="release-removed", subject=subject, severity=severity,
        summary=f"removed at {serial}", evidence=(Evidence(f"#{serial}", serial=serial),),
        playbooks=("restore",),
    )


@pytest.fixture
async def sessions(store_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(store_url)
    yield session_factory(engine)
    await engine.dispose()


async def count(sessions: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessions() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_repeat_updates_the_open_incident(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as s:
        first = await record_finding(s, finding(serial=1), NOW, ["console"])
    async with sessions.begin() as s:
        again = await record_finding(s, finding(serial=2), NOW, ["console"])
        again_same = await record_finding(s, finding(serial=2), NOW, ["console"])
    assert first.id == again.id == again_same.id
    assert await count(sessions, Incident) == 1
    async with sessions() as s:
        incident = await get_incident(s, first.id)
        assert incident is not None
        assert incident.occurrences == 3
        assert [e["serial"] for e in incident.evidence] == [1, 2]  # no duplicate evidence
        assert [t.action for t in incident.timeline] == ["opened", "repeated", "repeated"]
    # one message per change, per notifier
    assert await count(sessions, OutboxMessage) == 3


async def test_higher_severity_escalates(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as s:
        await record_finding(s, finding(Severity.HIGH), NOW, [])
        incident = await record_finding(s, finding(Severity.CRITICAL, serial=5), NOW, [])
        assert incident.severity == "critical"
        await s.refresh(incident, ["timeline"])
        assert incident.timeline[-1].action == "escalated"
        assert incident.timeline[-1].detail["previous"] == "high"


async def test_closed_incident_lets_a_new_one_open(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as s:
        first = await record_finding(s, finding(), NOW, [])
        await transition(s, first, Status.ACKNOWLEDGED, "U1", NOW, [])
        await transition(s, first, Status.RESOLVED, "U1", NOW, [], note="restored")
        second = await record_finding(s, finding(serial=9), NOW, [])
    assert second.id != first.id
    assert first.open_key is None and second.open_key == second.dedup_key == first.dedup_key
    with pytest.raises(TransitionError, match="resolved"):
        async with sessions.begin() as s:
            stale = await s.get(Incident, first.id)
            assert stale is not None
            await transition(s, stale, Status.OPEN, "U1", NOW, [])


async def test_different_subjects_are_different_incidents(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        a = await record_finding(s, finding(subject="project:a"), NOW, [])
        b = await record_finding(s, finding(subject="project:b"), NOW, [])
    assert a.id != b.id


class Flaky:
    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.delivered: list[tuple[str, dict[str, Any]]] = []

    async def deliver(self, kind: str, payload: dict[str, Any]) -> None:
        if self.failures:
            self.failures -= 1
            raise DeliveryError("down")
        self.delivered.append((kind, payload))


async def test_outbox_retries_then_delivers_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as s:
        incident = await record_finding(s, finding(), NOW, ["flaky"])
    notifier = Flaky(failures=1)
    assert await deliver_pending(sessions, {"flaky": notifier}, NOW) == 0
    # not due again until its backoff passes
    assert await deliver_pending(sessions, {"flaky": notifier}, NOW) == 0
    later = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert await deliver_pending(sessions, {"flaky": notifier}, later) == 1
    assert await deliver_pending(sessions, {"flaky": notifier}, later) == 0
    assert [(k, p["incident_id"]) for k, p in notifier.delivered] == [
        ("incident.opened", incident.id)
    ]
    async with sessions() as s:
        message = (await s.execute(select(OutboxMessage))).scalar_one()
        assert message.attempts == 2 and message.last_error == "down"


async def test_only_forward_except_an_explicit_reopen(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        incident = await record_finding(s, finding(), NOW, [])
        await transition(s, incident, Status.MITIGATED, "alice", NOW, [])
        with pytest.raises(TransitionError, match=r"reopen it first"):
            await transition(s, incident, Status.ACKNOWLEDGED, "bob", NOW, [])
        await transition(s, incident, Status.RESOLVED, "alice", NOW, [])
        await transition(s, incident, Status.OPEN, "alice", NOW, [], note="it came back")
        assert (incident.open_key, incident.closed_at) == (incident.dedup_key, None)
        again = await record_finding(s, finding(serial=2), NOW, [])  # updates the reopened one
        assert again.id == incident.id
        await transition(s, incident, Status.FALSE_POSITIVE, "alice", NOW, [])
        newer = await record_finding(s, finding(serial=3), NOW, [])  # a new one opens
        assert newer.id != incident.id
        with pytest.raises(TransitionError, match=f"incident {newer.id} is open"):
            await transition(s, incident, Status.OPEN, "alice", NOW, [])
