"""Reads of a Warehouse database: projects, accounts, email domains, malware reports."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from packaging.utils import canonicalize_version
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import warehouse as ws
from playbooks.index_admin.base import (
    DomainUse,
    IndexAccount,
    IndexEmail,
    IndexFile,
    IndexProject,
    IndexRelease,
    MalwareReport,
)

__all__ = [
    "QUARANTINE",
    "account",
    "domain_of",
    "domain_use",
    "malware_reports",
    "orphaned_malware_reports",
    "prohibition",
    "project",
    "project_row",
    "release_row",
    "user_row",
]

QUARANTINE = ws.LifecycleStatus.QuarantineEnter


def domain_of(email: str) -> str:
    """``Email.domain`` in Warehouse: the part after the last "@", lower-cased."""
    return email.split("@")[-1].lower()


async def project_row(c: AsyncConnection, name: str) -> sa.Row[Any] | None:
    p = ws.projects
    return (await c.execute(sa.select(p).where(p.c.normalized_name
                                               == ws.normalize_name(name)))).first()


async def release_row(c: AsyncConnection, pid: uuid.UUID, version: str) -> sa.Row[Any] | None:
    """A release by version as Warehouse looks one up (``Project.__getitem__``): by
    canonical version, preferring the exact spelling."""
    r = ws.releases
    rows = (await c.execute(sa.select(r).where(
        r.c.project_id == pid, r.c.canonical_version == canonicalize_version(version)))).all()
    exact = [row for row in rows if row.version == version]
    return (exact or rows)[0] if rows else None


async def user_row(c: AsyncConnection, username: str) -> sa.Row[Any] | None:
    u = ws.users
    return (await c.execute(sa.select(u).where(u.c.username == username))).first()


async def project(c: AsyncConnection, name: str) -> IndexProject | None:
    r, f, ro, u = ws.releases, ws.release_files, ws.roles, ws.users
    p = await project_row(c, name)
    if p is None:
        return None
    rels = (await c.execute(sa.select(r.c.id, r.c.version, r.c.yanked, r.c.yanked_reason,
                                      r.c.lifecycle_status)
                            .where(r.c.project_id == p.id))).all()
    files = (await c.execute(
        sa.select(f.c.release_id, f.c.filename, f.c.sha256_digest, f.c.blake2_256_digest,
                  f.c.size)
        .join(r, r.c.id == f.c.release_id).where(r.c.project_id == p.id))).all()
    users = (await c.execute(sa.select(u.c.username).join(ro, ro.c.user_id == u.c.id)
                             .where(ro.c.project_id == p.id))).scalars().all()
    by_release: dict[Any, dict[str, IndexFile]] = {x.id: {} for x in rels}
    for x in files:
        by_release[x.release_id][x.filename] = IndexFile(
            x.filename, str(x.sha256_digest), str(x.blake2_256_digest), x.size)
    return IndexProject(
        name=p.name, quarantined=p.lifecycle_status == QUARANTINE,
        releases={x.version: IndexRelease(x.version, bool(x.yanked), x.yanked_reason or "",
                                          by_release[x.id], x.lifecycle_status == QUARANTINE)
                  for x in rels},
        users=tuple(sorted(str(name) for name in users)))


async def account(c: AsyncConnection, user: sa.Row[Any]) -> IndexAccount:
    e = ws.user_emails
    emails = (await c.execute(sa.select(e).where(e.c.user_id == user.id)
                              .order_by(e.c.id))).all()
    return IndexAccount(
        username=str(user.username), frozen=bool(user.is_frozen),
        password_reset_prohibited=bool(user.prohibit_password_reset),
        emails=tuple(IndexEmail(x.email, bool(x.verified), bool(x.primary),
                                str(x.unverify_reason) if x.unverify_reason else None)
                     for x in emails))


async def domain_use(c: AsyncConnection, domain: str, username: str) -> DomainUse:
    """Is ``domain`` prohibited already, and which other active, unfrozen accounts have a
    verified address there (a shared mail provider, not the attacker's domain)?"""
    u, e, d = ws.users, ws.user_emails, ws.prohibited_email_domains
    domain = domain.lower()
    prohibited = (await c.execute(sa.select(d.c.id).where(
        sa.func.lower(d.c.domain) == domain))).first() is not None
    others = (await c.execute(
        sa.select(u.c.username).distinct().join(e, e.c.user_id == u.c.id).where(
            sa.func.lower(e.c.email).endswith("@" + domain, autoescape=True),
            e.c.verified.is_(True), u.c.is_active.is_(True), u.c.is_frozen.is_(False),
            u.c.username != username)
        .order_by(u.c.username))).scalars().all()
    return DomainUse(domain, prohibited, tuple(str(name) for name in others))


async def prohibition(c: AsyncConnection, name: str) -> sa.Row[Any] | None:
    """The ``prohibited_project_names`` row that blocks ``name``, if any. Names are stored
    normalized (Warehouse's ``ensure_normalized_blacklist`` trigger; the backend gives
    them normalized where that trigger is missing)."""
    b = ws.prohibited_project_names
    return (await c.execute(sa.select(b).where(b.c.name == ws.normalize_name(name)))).first()


async def malware_reports(c: AsyncConnection, pid: uuid.UUID) -> tuple[MalwareReport, ...]:
    o = ws.project_observations
    rows = (await c.execute(sa.select(o).where(
        o.c.related_id == pid, o.c.kind == ws.ObservationKind.IsMalware)
        .order_by(o.c.created))).all()
    return _reports(rows)


_REPR_NAME = re.compile(r"name='((?:[^'\\]|\\.){1,400})'")


async def orphaned_malware_reports(c: AsyncConnection, name: str
                                   ) -> tuple[MalwareReport, ...]:
    """The reports on a project that is gone: Warehouse set their ``related_id`` to NULL
    and kept ``related_name``, the project's repr (``Project(name='x')``)."""
    o, key = ws.project_observations, ws.normalize_name(name)
    like = "%" + key.replace("%", "").replace("-", "_") + "%"  # "_": any one separator
    rows = (await c.execute(sa.select(o).where(
        o.c.related_id.is_(None), o.c.kind == ws.ObservationKind.IsMalware,
        sa.func.lower(o.c.related_name).like(like)).order_by(o.c.created))).all()
    return _reports([row for row in rows
                     if (m := _REPR_NAME.search(row.related_name or "")) is not None
                     and ws.normalize_name(m.group(1)) == key])


def _reports(rows: Sequence[sa.Row[Any]]) -> tuple[MalwareReport, ...]:
    return tuple(MalwareReport(
        id=str(row.id), summary=row.summary,
        verdicts=tuple(str(v.get("action")) for v in (row.actions or {}).values()
                       if isinstance(v, dict)),
        inspector_url=str((row.payload or {}).get("inspector_url") or ""))
        for row in rows)
