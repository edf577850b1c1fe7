"""Malware reports as Warehouse writes them, for the reports tests (raw SQL, real schema).

``record_observation`` (``observations/models.py``): the reporter's observer is created on
first use (an ``observer_association`` row, discriminator "user", and an ``observers``
row), the report is a ``project_observations`` row (``release_observations`` for a
release) with kind ``is_malware``, ``related_name`` the parent's repr and a payload with
the inspector link; ``actions`` starts as ``{}``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

__all__ = ["add_verdict", "naive_now", "observer", "report", "trust"]


def naive_now(**delta: float) -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) + timedelta(**delta)


async def trust(conn: asyncpg.Connection, username: str) -> None:
    """An admin made the account a trusted observer (``users.is_observer``)."""
    await conn.execute("UPDATE users SET is_observer = true WHERE username = $1", username)


async def observer(conn: asyncpg.Connection, username: str) -> uuid.UUID:
    association = await conn.fetchval(
        "SELECT observer_association_id FROM users WHERE username = $1", username)
    if association is None:
        association = await conn.fetchval(
            "INSERT INTO observer_association (discriminator) VALUES ('user') RETURNING id")
        await conn.execute("UPDATE users SET observer_association_id = $1 WHERE username = $2",
                           association, username)
        return uuid.UUID(str(await conn.fetchval(
            "INSERT INTO observers (_association_id) VALUES ($1) RETURNING id", association)))
    return uuid.UUID(str(await conn.fetchval(
        "SELECT id FROM observers WHERE _association_id = $1", association)))


async def report(conn: asyncpg.Connection, project: str, reporter: str, *,
                 version: str | None = None, summary: str = "steals credentials",
                 created: datetime | None = None, actions: dict[str, Any] | None = None,
                 inspector_url: str | None = None) -> uuid.UUID:
    """One ``is_malware`` report on ``project`` (or its release ``version``)."""
    name, pid = await conn.fetchrow(
        "SELECT name, id FROM projects WHERE normalized_name = normalize_pep426_name($1)",
        project)
    who = await observer(conn, reporter)
    url = inspector_url or f"https://inspector.pypi.io/project/{name}/{version or '1.0'}/"
    payload = json.dumps({"inspector_url": url, "origin": "web"})
    stamp = created or naive_now()
    if version is None:
        table, related, related_name = "project_observations", pid, f"Project(name={name!r})"
    else:
        related = await conn.fetchval(
            "SELECT id FROM releases WHERE project_id = $1 AND version = $2", pid, version)
        table = "release_observations"
        related_name = f"Release(project=Project(name={name!r}), version={version!r})"
    return uuid.UUID(str(await conn.fetchval(
        f"INSERT INTO {table} (related_id, related_name, observer_id, kind, summary, payload, "
        "created, actions) VALUES ($1, $2, $3, 'is_malware', $4, $5::jsonb, $6, $7::jsonb) "
        "RETURNING id", related, related_name, who, summary, payload, stamp,
        json.dumps(actions or {}))))


async def add_verdict(conn: asyncpg.Connection, project: str, actor: str, action: str,
                      reason: str | None = None) -> datetime:
    """What Warehouse's admin view ``malware_reports_project_verdict_not_malware`` (and its
    siblings) write on every ``is_malware`` report of the project."""
    now = datetime.now(UTC)
    entry: dict[str, Any] = {"actor": actor, "action": action}
    if action == "verdict_not_malware":
        entry["reason"] = reason
    entry["created_at"] = str(now)
    await conn.execute(
        "UPDATE project_observations o SET actions = o.actions || jsonb_build_object($2::text, "
        "$3::jsonb) FROM projects p WHERE p.id = o.related_id AND o.kind = 'is_malware' AND "
        "p.normalized_name = normalize_pep426_name($1)", project,
        str(int(now.timestamp())), json.dumps(entry))
    return now
