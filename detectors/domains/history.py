"""Observation history in the store: run-length encoded rows, written a chunk at a time.

An observation equal to the latest one of the same source (same fingerprint) extends
that row (`last_seen_at`, `times`); anything else adds a row. The `domains` row keeps
the latest authoritative facts, so the DNS tier compares with the past without
reading the history table; the registry tier, which is rare, reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.domain_models import Domain, DomainEmailLink, DomainObservation
from bot.store.models import Email
from detectors.domains.dns import DnsObservation
from detectors.domains.registry import RegistryObservation, RegistryRecord
from detectors.domains.rules import PastDns

_OBS = cast(sa.Table, DomainObservation.__table__)


@dataclass(slots=True)
class DomainRow:
    """The columns of a `domains` row that the checks and rules read."""

    id: int
    name: str
    critical: bool
    mailbox_provider: bool
    first_seen_at: datetime
    dns_outcome: str | None
    dns_ns: list[Any] | None
    dns_mx: list[Any] | None
    dns_checked_at: datetime | None
    dns_failures: int
    nxdomain_since: datetime | None
    dns_obs_id: int | None
    dns_obs_fp: str | None
    registry_obs_id: int | None
    registry_obs_fp: str | None
    registry_checked_at: datetime | None
    state: str | None
    expires_at: datetime | None
    flagged_at: datetime | None

    def past_dns(self) -> PastDns | None:
        if self.dns_outcome is None or self.dns_checked_at is None:
            return None
        mx = None if self.dns_mx is None else tuple(self.dns_mx)
        return PastDns(self.dns_outcome, tuple(self.dns_ns or ()), mx, self.dns_checked_at)


_COLUMNS = [getattr(Domain, f.name) for f in fields(DomainRow)]


async def load_rows(session: AsyncSession, ids: list[int]) -> dict[int, DomainRow]:
    rows: dict[int, DomainRow] = {}
    for start in range(0, len(ids), 900):  # keep under SQLite's bound-parameter limit
        result = await session.execute(
            sa.select(*_COLUMNS).where(Domain.id.in_(ids[start:start + 900])))
        for values in result.all():
            row = DomainRow(*values)
            rows[row.id] = row
    return rows


async def load_row_by_name(session: AsyncSession, name: str) -> DomainRow | None:
    result = await session.execute(sa.select(*_COLUMNS).where(Domain.name == name))
    values = result.first()
    return None if values is None else DomainRow(*values)


class HistoryWriter:
    """Collects the observations of one chunk and writes them in a few statements."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self._extend: list[int] = []  # observation ids seen again at `at`
        self._insert: list[dict[str, Any]] = []
        self._pointer: list[tuple[int, str, str]] = []  # domain id, source kind, fingerprint
        self._updates: dict[int, dict[str, Any]] = {}

    def _observe(self, row: DomainRow, source: str, outcome: str, evidence: bool,
                 data: dict[str, Any], fp: str, server: str) -> None:
        kind = "dns" if source == "dns" else "registry"
        latest_id, latest_fp = ((row.dns_obs_id, row.dns_obs_fp) if kind == "dns"
                                else (row.registry_obs_id, row.registry_obs_fp))
        if latest_id is not None and latest_fp == fp:
            self._extend.append(latest_id)
            return
        self._insert.append({
            "domain_id": row.id, "source": source, "server": server[:512] or None,
            "outcome": outcome, "evidence": evidence, "data": data, "fingerprint": fp,
            "first_seen_at": self.at, "last_seen_at": self.at, "times": 1,
        })
        self._pointer.append((row.id, kind, fp))

    def update(self, row: DomainRow, **values: Any) -> None:
        self._updates.setdefault(row.id, {"id": row.id}).update(values)

    def dns(self, row: DomainRow, obs: DnsObservation) -> None:
        self._observe(row, "dns", obs.outcome, obs.evidence, obs.data(), obs.fingerprint(),
                      obs.server)
        if not obs.evidence:
            self.update(row, dns_attempted_at=self.at, dns_failures=row.dns_failures + 1)
            return
        values: dict[str, Any] = {
            "dns_attempted_at": self.at, "dns_checked_at": self.at, "dns_failures": 0}
        # Only what changed: an unchanged domain then shares its update with the chunk.
        if row.dns_outcome != obs.outcome:
            values["dns_outcome"] = obs.outcome
        if row.dns_ns != list(obs.ns):
            values["dns_ns"] = list(obs.ns)
        if obs.mx is not None and row.dns_mx != list(obs.mx):
            values["dns_mx"] = list(obs.mx)
        if obs.outcome == "nxdomain":
            values["nxdomain_last_seen_at"] = self.at
            if row.dns_outcome != "nxdomain":
                values["nxdomain_since"] = self.at
        self.update(row, **values)

    def registry(self, row: DomainRow, obs: RegistryObservation, state: str) -> None:
        self._observe(row, obs.source, obs.outcome, obs.evidence, obs.data(),
                      obs.fingerprint(), obs.server)
        values: dict[str, Any] = {"registry_attempted_at": self.at}
        if obs.evidence:
            record = obs.record or RegistryRecord()
            values.update(
                registry_checked_at=self.at, state=state, expires_at=record.expires,
                registered_at=record.registered,
                registrar=record.registrar[:512] if record.registrar else None,
            )
        self.update(row, **values)

    async def flush(self, session: AsyncSession) -> None:
        for part in batched(self._extend):
            await session.execute(
                sa.update(_OBS).where(_OBS.c.id.in_(part))
                .values(last_seen_at=self.at, times=_OBS.c.times + 1))
        if self._insert:
            result = await session.execute(
                sa.insert(DomainObservation).returning(
                    DomainObservation.id, sort_by_parameter_order=True),
                self._insert,
            )
            for (domain_id, kind, fp), new_id in zip(self._pointer, result.scalars(), strict=True):
                row_update = self._updates.setdefault(domain_id, {"id": domain_id})
                row_update[f"{kind}_obs_id"], row_update[f"{kind}_obs_fp"] = new_id, fp
        await self._update_domains(session)
        self._extend, self._insert, self._pointer, self._updates = [], [], [], {}

    async def _update_domains(self, session: AsyncSession) -> None:
        # Rows getting the very same values (in a steady sweep: nearly all of them) take
        # one UPDATE ... WHERE id IN (...); the rest go by primary key, grouped by columns.
        same: dict[str, tuple[dict[str, Any], list[int]]] = {}
        for values in self._updates.values():
            shared = {k: v for k, v in values.items() if k != "id"}
            key = json.dumps(shared, sort_keys=True, default=str)
            same.setdefault(key, (shared, []))[1].append(values["id"])
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for shared, ids in same.values():
            if len(ids) > 1:
                for part in batched(ids):
                    await session.execute(
                        sa.update(Domain).where(Domain.id.in_(part)).values(**shared)
                        .execution_options(synchronize_session=False))
            else:
                by_columns.setdefault(tuple(sorted(shared)), []).append({"id": ids[0], **shared})
        for rows in by_columns.values():
            await session.execute(sa.update(Domain), rows)


def batched(ids: list[int], size: int = 900) -> list[list[int]]:
    """Slices small enough for SQLite's limit on bound parameters."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


async def last_found(
    session: AsyncSession, ids: list[int]
) -> dict[int, tuple[RegistryRecord, datetime]]:
    """The latest `found` registry record of each domain, and when it was last seen."""
    if not ids:
        return {}
    latest = (
        sa.select(sa.func.max(DomainObservation.id))
        .where(DomainObservation.domain_id.in_(ids),
               DomainObservation.source.in_(("rdap", "whois")),
               DomainObservation.outcome == "found")
        .group_by(DomainObservation.domain_id)
    )
    result = await session.execute(
        sa.select(DomainObservation.domain_id, DomainObservation.data,
                  DomainObservation.last_seen_at)
        .where(DomainObservation.id.in_(latest)))
    return {d: (RegistryRecord.from_data(data), seen) for d, data, seen in result.all()}


async def references(session: AsyncSession, ids: list[int]) -> dict[int, datetime]:
    """When the domain's maintainer emails were verified (the earliest), per domain."""
    if not ids:
        return {}
    result = await session.execute(
        sa.select(DomainEmailLink.domain_id, sa.func.min(Email.verified_at))
        .join(Email, Email.id == DomainEmailLink.email_id)
        .where(DomainEmailLink.domain_id.in_(ids), Email.verified)
        .group_by(DomainEmailLink.domain_id))
    return {d: when for d, when in result.all() if when is not None}


async def history(
    session: AsyncSession, domain_id: int, limit: int = 200
) -> list[DomainObservation]:
    result = await session.execute(
        sa.select(DomainObservation).where(DomainObservation.domain_id == domain_id)
        .order_by(DomainObservation.id.desc()).limit(limit))
    return list(result.scalars())
