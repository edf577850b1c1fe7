"""Every journal action string Warehouse writes, and how the feed types it.

The table lists each ``JournalEntry(action=...)`` in pypi/warehouse at
6b62157124ab7865029afeeadf282bce27d601d9 (``git grep -n "JournalEntry(" -- warehouse``,
migrations and tests excluded), with a realistic value for each placeholder. When Warehouse
adds an action, add its row here: a row the parser does not type fails.

Archiving writes no journal at that commit (``utils/project.py`` ``archive_project`` /
``unarchive_project`` record only the project events ``project:archive:enter`` / ``exit``),
so the changelog cannot show it and there is no action string to type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.events import EventKind, parse_action

AT = datetime(2026, 8, 21, tzinfo=UTC)

# (where Warehouse writes it, the action as written, the kind, the fields parsed out)
WAREHOUSE_ACTIONS: list[tuple[str, str, EventKind, dict[str, Any]]] = [
    ("packaging/services.py:608 create_project", "create", EventKind.CREATE, {}),
    ("packaging/services.py:634 create_project (creator_is_owner)", "add Owner alice",
     EventKind.ROLE_ADD, {"role": "Owner", "user": "alice"}),
    ("forklift/legacy.py:1775 file_upload", "new release", EventKind.NEW_RELEASE, {}),
    ("forklift/legacy.py:1783 file_upload", "add py3 file ctx-0.2.6-py3-none-any.whl",
     EventKind.ADD_FILE, {"python_version": "py3", "filename": "ctx-0.2.6-py3-none-any.whl"}),
    ("forklift/legacy.py:1783 file_upload (sdist)", "add source file ctx-0.2.6.tar.gz",
     EventKind.ADD_FILE, {"python_version": "source", "filename": "ctx-0.2.6.tar.gz"}),
    ("manage/views/__init__.py:1496 yank_project_release", "yank release", EventKind.YANK, {}),
    ("manage/views/__init__.py:1584 unyank_project_release", "unyank release",
     EventKind.UNYANK, {}),
    ("manage/views/__init__.py:1688 delete_project_release", "remove release",
     EventKind.REMOVE_RELEASE, {}),
    ("utils/project.py:258 remove_release (malware verdict)", "remove release",
     EventKind.REMOVE_RELEASE, {}),
    ("manage/views/__init__.py:1783 delete_project_release_file",
     "remove file ctx-0.2.6.tar.gz", EventKind.REMOVE_FILE, {"filename": "ctx-0.2.6.tar.gz"}),
    ("admin/views/projects.py:971 delete_project_release_file (admin)",
     "remove file ctx 0.2.6.zip", EventKind.REMOVE_FILE, {"filename": "ctx 0.2.6.zip"}),
    ("utils/project.py:284 remove_project", "remove project", EventKind.REMOVE_PROJECT, {}),
    ("admin/views/users.py:431 _nuke_user", "remove project", EventKind.REMOVE_PROJECT, {}),
    ("utils/project.py:128 quarantine_project", "project quarantined",
     EventKind.QUARANTINE_PROJECT, {}),
    ("utils/project.py:161 clear_project_quarantine", "project quarantine cleared",
     EventKind.QUARANTINE_PROJECT_CLEARED, {}),
    ("utils/project.py:200 quarantine_release", "release quarantined",
     EventKind.QUARANTINE_RELEASE, {}),
    ("utils/project.py:233 clear_release_quarantine", "release quarantine cleared",
     EventKind.QUARANTINE_RELEASE_CLEARED, {}),
    ("manage/views/__init__.py:2050 manage_project_roles (add)", "add Maintainer bob.b-1",
     EventKind.ROLE_ADD, {"role": "Maintainer", "user": "bob.b-1"}),
    ("admin/views/projects.py:700 add_role (admin)", "add Owner carol", EventKind.ROLE_ADD,
     {"role": "Owner", "user": "carol"}),
    ("manage/views/__init__.py:2173 manage_project_roles (invite)", "invite Maintainer carol",
     EventKind.ROLE_INVITE, {"role": "Maintainer", "user": "carol"}),
    ("manage/views/__init__.py:2258 revoke_project_role_invitation",
     "revoke_invite Maintainer carol", EventKind.ROLE_REVOKE_INVITE,
     {"role": "Maintainer", "user": "carol"}),
    ("accounts/views.py:1410 verify_project_role", "accepted Maintainer carol",
     EventKind.ROLE_ACCEPT, {"role": "Maintainer", "user": "carol"}),
    ("manage/views/__init__.py:2320 change_project_role", "change Owner bob to Maintainer",
     EventKind.ROLE_CHANGE, {"old_role": "Owner", "user": "bob", "role": "Maintainer"}),
    ("manage/views/__init__.py:2407 delete_project_role", "remove Owner alice",
     EventKind.ROLE_REMOVE, {"role": "Owner", "user": "alice"}),
    ("admin/views/projects.py:771 delete_role (admin)", "remove Maintainer bob",
     EventKind.ROLE_REMOVE, {"role": "Maintainer", "user": "bob"}),
    ("manage/views/organizations.py:824 organization project transfer", "remove Owner alice",
     EventKind.ROLE_REMOVE, {"role": "Owner", "user": "alice"}),
    ("manage/views/organizations.py:1575 add_organization_project", "remove Owner alice",
     EventKind.ROLE_REMOVE, {"role": "Owner", "user": "alice"}),
    # Team roles name a team, whose name may hold spaces (teams_valid_name allows them).
    ("manage/views/__init__.py:1940 manage_project_roles (team)", "add Owner Release Managers",
     EventKind.ROLE_ADD, {"role": "Owner", "user": "Release Managers"}),
    ("manage/views/__init__.py:1940 manage_project_roles (team)", "add Maintainer ops",
     EventKind.ROLE_ADD, {"role": "Maintainer", "user": "ops"}),
    ("manage/views/teams.py:515 change_team_project_role",
     "change Owner Road to Rome to Maintainer", EventKind.ROLE_CHANGE,
     {"old_role": "Owner", "user": "Road to Rome", "role": "Maintainer"}),
    ("manage/views/teams.py:623 delete_team_project_role", "remove Maintainer Release Managers",
     EventKind.ROLE_REMOVE, {"role": "Maintainer", "user": "Release Managers"}),
]


@pytest.mark.parametrize(("where", "action", "kind", "fields"), WAREHOUSE_ACTIONS,
                         ids=[f"{row[0]}: {row[1]}" for row in WAREHOUSE_ACTIONS])
def test_every_action_warehouse_writes_is_typed(where: str, action: str, kind: EventKind,
                                                fields: dict[str, Any]) -> None:
    event = parse_action(7, AT, "ctx", "0.2.6", action)
    assert event.kind is kind and event.kind is not EventKind.OTHER, where
    assert event.raw == action
    for name in ("filename", "python_version", "user", "role", "old_role"):
        assert getattr(event, name) == fields.get(name), (where, name)


def test_the_table_covers_every_kind_warehouse_writes() -> None:
    written = {kind for _, _, kind, _ in WAREHOUSE_ACTIONS}
    assert written == set(EventKind) - {EventKind.OTHER}


@pytest.mark.parametrize("action", ["docdestroy", "archived", "add Owner", "invite Owner two words",
                                    "change Owner bob", "release quarantined!"])
def test_what_warehouse_does_not_write_stays_other(action: str) -> None:
    assert parse_action(1, AT, "ctx", None, action).kind is EventKind.OTHER
