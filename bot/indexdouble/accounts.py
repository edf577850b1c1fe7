"""Accounts, email addresses and project roles, changed the way Warehouse changes them.

Email verification is recorded as Warehouse records it: an ``account:email:verified``
row in ``user_events`` (the only record of *when* an address was verified). Role
journal strings come from ``manage/views/__init__.py``, ``admin/views/projects.py``
and ``accounts/views.py`` (pypi/warehouse 6b62157124ab7865029afeeadf282bce27d601d9).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

import sqlalchemy as sa

from bot.store import warehouse as ws

from .core import StoreCore, naive_utc, new_id

__all__ = ["AccountsMixin"]


class AccountsMixin(StoreCore):
    """Users, their addresses and their roles on projects."""

    def add_user(self, username: str, email: str | None = None, verified: bool = True,
                 at: datetime | None = None) -> uuid.UUID:
        """Create an active account; with ``email``, its primary address."""
        when = naive_utc(at)
        with self._tx() as c:
            uid = self._insert_user(c, username, when)
            if email is not None:
                self._insert_email(c, uid, email, verified=verified, primary=True, when=when)
        return uid

    def add_email(self, username: str, email: str, *, verified: bool = True,
                  primary: bool = False, at: datetime | None = None) -> int:
        """Add an address; a verified one also gets an ``account:email:verified`` event."""
        when = naive_utc(at)
        with self._tx() as c:
            return self._insert_email(c, self._user_id(c, username), email,
                                      verified=verified, primary=primary, when=when)

    def verify_email(self, email: str, at: datetime | None = None) -> None:
        """Mark an address verified, recording the event Warehouse records."""
        e = ws.user_emails
        with self._tx() as c:
            row = c.execute(sa.select(e).where(e.c.email == email)).one()
            c.execute(sa.update(e).where(e.c.id == row.id).values(
                verified=True, unverify_reason=None, transient_bounces=0))
            self._user_event(c, row.user_id, "account:email:verified", naive_utc(at),
                             {"email": email, "primary": row.primary})

    def _insert_email(self, c: sa.Connection, uid: uuid.UUID, email: str, *, verified: bool,
                      primary: bool, when: datetime) -> int:
        eid = new_id(c.execute(sa.insert(ws.user_emails).values(
            user_id=uid, email=email, primary=primary, verified=verified, public=False)))
        self._user_event(c, uid, "account:email:add", when, {"email": email})
        if verified:
            self._user_event(c, uid, "account:email:verified", when,
                             {"email": email, "primary": primary})
        return eid

    def _role_change(self, project: str, user: str, action: str, actor: str | None,
                     at: datetime | None, op: str, role: str | None = None,
                     expect: str | None = None) -> int:
        when = naive_utc(at)
        ro, inv = ws.roles, ws.role_invitations
        with self._tx() as c:
            p = self._project(c, project)
            uid = self._user_id(c, user, at=when)
            mine = (ro.c.project_id == p.id) & (ro.c.user_id == uid)
            current = c.execute(sa.select(ro.c.role_name).where(mine)).scalar()
            if op in ("remove", "change") and current is None:
                raise KeyError(f"{user!r} has no role on {project!r}")
            if expect is not None and current != expect:
                raise ValueError(f"{user!r} is {current!r} on {project!r}, not {expect!r}")
            serial = self._journal(c, p.name, None, action.format(current=current), actor, when)
            pending = (inv.c.project_id == p.id) & (inv.c.user_id == uid)
            if op in ("add", "accept"):
                c.execute(sa.insert(ro).values(role_name=role, user_id=uid, project_id=p.id))
            if op == "remove":
                c.execute(sa.delete(ro).where(mine))
            if op == "change":
                c.execute(sa.update(ro).where(mine).values(role_name=role))
            if op == "invite":
                c.execute(sa.insert(inv).values(
                    invite_status=ws.RoleInvitationStatus.Pending, user_id=uid,
                    project_id=p.id, token=secrets.token_urlsafe(16)))
            if op in ("revoke", "accept"):
                c.execute(sa.delete(inv).where(pending))
            return serial

    def add_role(self, project: str, user: str, role: str, actor: str | None = None,
                 at: datetime | None = None) -> int:
        """"add <role> <user>"."""
        return self._role_change(project, user, f"add {role} {user}", actor, at, "add", role)

    def remove_role(self, project: str, user: str, actor: str | None = None,
                    at: datetime | None = None) -> int:
        """"remove <role> <user>" (the role the user holds)."""
        return self._role_change(project, user, f"remove {{current}} {user}", actor, at,
                                 "remove")

    def change_role(self, project: str, user: str, old: str, new: str,
                    actor: str | None = None, at: datetime | None = None) -> int:
        """"change <old> <user> to <new>"."""
        return self._role_change(project, user, f"change {old} {user} to {new}", actor, at,
                                 "change", new, expect=old)

    def invite_role(self, project: str, user: str, role: str, actor: str | None = None,
                    at: datetime | None = None) -> int:
        """"invite <role> <user>" (a pending role_invitations row)."""
        return self._role_change(project, user, f"invite {role} {user}", actor, at, "invite")

    def revoke_invite(self, project: str, user: str, role: str, actor: str | None = None,
                      at: datetime | None = None) -> int:
        """"revoke_invite <role> <user>"."""
        return self._role_change(project, user, f"revoke_invite {role} {user}", actor, at,
                                 "revoke")

    def accept_invite(self, project: str, user: str, role: str,
                      at: datetime | None = None) -> int:
        """"accepted <role> <user>", submitted by the invitee."""
        return self._role_change(project, user, f"accepted {role} {user}", user, at, "accept",
                                 role)

    # -- malware reports -------------------------------------------------------------

    def report_malware(self, project: str, reporter: str, summary: str, inspector_url: str,
                       *, trusted: bool = False, at: datetime | None = None) -> uuid.UUID:
        """An ``is_malware`` report as Warehouse records it (``record_observation``): the
        reporter's observer on first use, a ``project_observations`` row with
        ``related_name`` the project's repr; ``trusted`` makes the reporter a trusted
        observer (``users.is_observer``)."""
        u, a, o = ws.users, ws.observer_association, ws.observers
        when = naive_utc(at)
        with self._tx() as c:
            p = self._project(c, project)
            uid = self._user_id(c, reporter, at=at)
            if trusted:
                c.execute(sa.update(u).where(u.c.id == uid).values(is_observer=True))
            association = c.execute(sa.select(u.c.observer_association_id)
                                    .where(u.c.id == uid)).scalar()
            observer = None if association is None else c.execute(
                sa.select(o.c.id).where(o.c._association_id == association)).scalar()
            if observer is None:
                association, observer = uuid.uuid4(), uuid.uuid4()
                c.execute(sa.insert(a).values(id=association, discriminator="user"))
                c.execute(sa.update(u).where(u.c.id == uid)
                          .values(observer_association_id=association))
                c.execute(sa.insert(o).values(id=observer, _association_id=association,
                                              created=when))
            oid = uuid.uuid4()
            c.execute(sa.insert(ws.project_observations).values(
                id=oid, related_id=p.id, related_name=f"Project(name={p.name!r})",
                observer_id=observer, created=when, kind=ws.ObservationKind.IsMalware,
                summary=summary, payload={"inspector_url": inspector_url}, additional={},
                actions={}))
        return oid
