"""The admin changes of the ``warehouse`` backend, each as Warehouse's own view makes it.

Checked against pypi/warehouse 6b62157124ab7865029afeeadf282bce27d601d9. Every function
runs inside the caller's transaction, first checks whether the database already is as
asked (then returns False and writes nothing, so a resumed step is a no-op) and writes
journals last, as Warehouse's ``ensure_monotonic_journals`` defers them.

- yank / unyank (``manage/views/__init__.py`` ``yank_project_release``): ``releases.yanked``,
  ``yanked_reason``, ``yanked_date``; event ``project:release:yank`` / ``unyank``
  ``{submitted_by, canonical_version[, yanked_reason]}``; journal "yank release" /
  "unyank release". Every ORM update of a ``projects`` / ``releases`` row also sets its
  ``lifecycle_status_changed`` (``onupdate=func.now()``), so these do too.
- quarantine (``utils/project.py``): project ``quarantine_project`` /
  ``clear_project_quarantine`` (entering freezes every user with a role); release
  ``quarantine_release`` / ``clear_release_quarantine`` (event with ``canonical_version``
  and ``version``; journal "release quarantined" / "release quarantine cleared").
- freeze (``admin/views/users.py`` ``user_freeze``): ``users.is_frozen`` and a
  ``prohibited_email_domains`` row (comment "frozen") per verified domain; the playbook
  decides which domains (shared ones are skipped unless asked).
- unverify (``accounts/tasks.py`` ``unverify_emails_with_expired_domains``):
  ``verified = false``, ``unverify_reason`` "domain status invalid" and an
  ``email_unverified`` user observation with Warehouse's payload keys.
- remove as malware (``admin/views/malware_reports.py`` ``remove_malware_for_project`` and
  ``utils/project.py`` ``prohibit_and_remove_project`` / ``remove_project`` /
  ``remove_release``): each user frozen with an ``account_abuse`` observation, a
  ``remove_malware`` verdict on the project's ``is_malware`` reports, the name prohibited
  with ``observation_kind`` "is_malware", journal "remove project", the project deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import warehouse as ws
from playbooks.index_admin import warehouse_reads as reads
from playbooks.index_admin.warehouse_records import (
    Author,
    add_verdict,
    event,
    journal,
    naive_now,
    observe,
    user_repr,
)

__all__ = [
    "FROZEN_BY_MALWARE",
    "allow_project_name",
    "freeze_for_malware",
    "prohibit_email_domain",
    "prohibit_project_name",
    "record_verdict",
    "remove_project",
    "remove_release",
    "set_project_quarantined",
    "set_release_quarantined",
    "set_user_flag",
    "set_yanked",
    "unverify_email",
]

FROZEN_BY_MALWARE = "Account frozen due to malware report"
_TOUCHED = sa.func.now()  # lifecycle_status_changed's onupdate in Warehouse's models


async def set_yanked(c: AsyncConnection, author: Author, p: sa.Row[Any], rel: sa.Row[Any],
                     yanked: bool, reason: str) -> bool:
    reason = reason if yanked else ""
    if bool(rel.yanked) == yanked and (rel.yanked_reason or "") == reason:
        return False
    r = ws.releases
    await c.execute(sa.update(r).where(r.c.id == rel.id).values(
        yanked=yanked, yanked_reason=reason, yanked_date=naive_now() if yanked else None,
        lifecycle_status_changed=_TOUCHED))
    extra = {"yanked_reason": reason} if yanked else {}
    await event(c, ws.project_events, p.id,
                "project:release:yank" if yanked else "project:release:unyank",
                {"submitted_by": author.username, "canonical_version": rel.canonical_version,
                 **extra})
    await journal(c, p.name, rel.version, "yank release" if yanked else "unyank release",
                  author)
    return True


def _lifecycle(quarantined: bool, author: Author) -> dict[str, Any]:
    if quarantined:
        return {"lifecycle_status": ws.LifecycleStatus.QuarantineEnter,
                "lifecycle_status_note": f"Quarantined by {author.username}.",
                "lifecycle_status_changed": _TOUCHED}
    return {"lifecycle_status": ws.LifecycleStatus.QuarantineExit,
            "lifecycle_status_note": f"Quarantine cleared by {author.username}.",
            "lifecycle_status_changed": _TOUCHED}


async def set_project_quarantined(c: AsyncConnection, author: Author, p: sa.Row[Any],
                                  quarantined: bool) -> bool:
    if (p.lifecycle_status == reads.QUARANTINE) == quarantined:
        return False
    pr, ro, u = ws.projects, ws.roles, ws.users
    await c.execute(sa.update(pr).where(pr.c.id == p.id).values(_lifecycle(quarantined, author)))
    await event(c, ws.project_events, p.id,
                "project:quarantine:enter" if quarantined else "project:quarantine:exit",
                {"submitted_by": author.username})
    if quarantined:  # quarantine_project freezes the project's users
        users = sa.select(ro.c.user_id).where(ro.c.project_id == p.id)
        await c.execute(sa.update(u).where(u.c.id.in_(users)).values(is_frozen=True))
    await journal(c, p.name, None,
                  "project quarantined" if quarantined else "project quarantine cleared", author)
    return True


async def set_release_quarantined(c: AsyncConnection, author: Author, p: sa.Row[Any],
                                  rel: sa.Row[Any], quarantined: bool) -> bool:
    if (rel.lifecycle_status == reads.QUARANTINE) == quarantined:
        return False
    r = ws.releases
    await c.execute(sa.update(r).where(r.c.id == rel.id).values(_lifecycle(quarantined, author)))
    await event(c, ws.project_events, p.id,
                "project:release:quarantine:enter" if quarantined
                else "project:release:quarantine:exit",
                {"submitted_by": author.username, "canonical_version": rel.canonical_version,
                 "version": rel.version})
    await journal(c, p.name, rel.version,
                  "release quarantined" if quarantined else "release quarantine cleared", author)
    return True


async def set_user_flag(c: AsyncConnection, user: sa.Row[Any], column: str, value: bool
                        ) -> bool:
    """``is_frozen`` / ``prohibit_password_reset``: the admin user form writes only the
    column (no journal, no event: journals are per project)."""
    if bool(getattr(user, column)) == value:
        return False
    u = ws.users
    await c.execute(sa.update(u).where(u.c.id == user.id).values({column: value}))
    return True


async def prohibit_email_domain(c: AsyncConnection, author: Author, domain: str,
                                comment: str) -> bool:
    d = ws.prohibited_email_domains
    domain = domain.lower()
    if (await c.execute(sa.select(d.c.id).where(sa.func.lower(d.c.domain) == domain))).first():
        return False  # Warehouse would fail on the unique domain; already done is done
    await c.execute(sa.insert(d).values(domain=domain, comment=comment,
                                        prohibited_by=author.id))
    return True


async def unverify_email(c: AsyncConnection, author: Author, row: sa.Row[Any], username: str,
                         reason: str) -> bool:
    if not row.verified:
        return False
    e = ws.user_emails
    await c.execute(sa.update(e).where(e.c.id == row.id).values(
        verified=False, unverify_reason=ws.UnverifyReasons.DomainInvalid))
    summary = "Email domain status invalid" + (f": {reason}" if reason else "")
    await observe(c, ws.user_observations, row.user_id, user_repr(username),
                  ws.ObservationKind.EmailUnverified, summary[:1000], {
                      "email": row.email, "domain": reads.domain_of(row.email),
                      "domain_last_status": list(row.domain_last_status)
                      if row.domain_last_status is not None else None,
                      "domain_last_checked": str(row.domain_last_checked)}, author)
    return True


async def freeze_for_malware(c: AsyncConnection, author: Author, user: sa.Row[Any],
                             project: str) -> bool:
    """``user.is_frozen = True`` and ``user.record_observation(kind=AccountAbuse, ...)``;
    done already when the account is frozen and has that observation for ``project``."""
    o, u = ws.user_observations, ws.users
    noted = [row.payload for row in (await c.execute(sa.select(o.c.payload).where(
        o.c.related_id == user.id, o.c.kind == ws.ObservationKind.AccountAbuse,
        o.c.summary == FROZEN_BY_MALWARE))).all()]
    observed = any((payload or {}).get("project_name") == project for payload in noted)
    if user.is_frozen and observed:
        return False
    await c.execute(sa.update(u).where(u.c.id == user.id).values(is_frozen=True))
    if not observed:
        await observe(c, o, user.id, user_repr(str(user.username)),
                      ws.ObservationKind.AccountAbuse, FROZEN_BY_MALWARE,
                      {"project_name": project}, author)
    return True


async def record_verdict(c: AsyncConnection, author: Author, report_ids: Sequence[str],
                         verdict: str, extra: Mapping[str, Any]) -> bool:
    """Add ``verdict`` to the reports that do not carry it yet."""
    o = ws.project_observations
    ids = [uuid.UUID(i) for i in report_ids]
    rows = (await c.execute(sa.select(o.c.id, o.c.actions).where(o.c.id.in_(ids)))).all()
    todo = [row.id for row in rows if not any(
        isinstance(v, dict) and v.get("action") == verdict
        for v in (row.actions or {}).values())]
    if not todo:
        return False
    await add_verdict(c, o, todo, {"actor": author.username, "action": verdict, **extra})
    return True


async def prohibit_project_name(c: AsyncConnection, author: Author, name: str,
                                observation_kind: str | None) -> bool:
    """``ProhibitedProjectName(name=..., comment=None, observation_kind=...,
    prohibited_by=request.user)``; comment None leaves the column's default ''."""
    if await reads.prohibition(c, name) is not None:
        return False
    await c.execute(sa.insert(ws.prohibited_project_names).values(
        name=ws.normalize_name(name), prohibited_by=author.id,
        observation_kind=observation_kind))
    return True


async def allow_project_name(c: AsyncConnection, name: str) -> bool:
    """Warehouse's ``remove_prohibited_project_names``: the row goes, nothing is recorded."""
    b = ws.prohibited_project_names
    result = await c.execute(sa.delete(b).where(b.c.name == ws.normalize_name(name)))
    return bool(result.rowcount)


async def _detach(c: AsyncConnection, table: sa.Table, ids: Sequence[uuid.UUID]) -> None:
    # What Warehouse's ORM does before deleting a parent with observations: their
    # related_id becomes NULL (the row keeps related_name). For release observations
    # Warehouse's ORM does it only for releases it has loaded (otherwise the database
    # refuses the delete); here always: a report must outlive the release it is about.
    if ids:
        await c.execute(sa.update(table).where(table.c.related_id.in_(list(ids)))
                        .values(related_id=None))


async def remove_project(c: AsyncConnection, author: Author, p: sa.Row[Any]) -> None:
    """``remove_project``: journal "remove project", then the project row goes and the
    database's ON DELETE CASCADE takes its releases, files, roles and events with it
    (``projects.total_size`` and orphaned descriptions follow by triggers)."""
    r = ws.releases
    release_ids = list((await c.execute(sa.select(r.c.id).where(r.c.project_id == p.id)))
                       .scalars())
    await _detach(c, ws.project_observations, [p.id])
    await _detach(c, ws.release_observations, release_ids)
    await c.execute(sa.delete(ws.projects).where(ws.projects.c.id == p.id))
    await journal(c, p.name, None, "remove project", author)


async def remove_release(c: AsyncConnection, author: Author, p: sa.Row[Any],
                         rel: sa.Row[Any], reason: str) -> None:
    """``remove_release``: journal "remove release", event ``project:release:remove``
    ``{submitted_by, canonical_version, reason}``, the release row goes (cascade)."""
    await _detach(c, ws.release_observations, [rel.id])
    await event(c, ws.project_events, p.id, "project:release:remove", {
        "submitted_by": author.username, "canonical_version": rel.canonical_version,
        "reason": reason})
    await c.execute(sa.delete(ws.releases).where(ws.releases.c.id == rel.id))
    await journal(c, p.name, rel.version, "remove release", author)
