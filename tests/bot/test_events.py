"""The changelog action parser: every Warehouse action string, and arbitrary input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.events import EventKind, parse_action

AT = datetime(2022, 5, 14, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("action", "kind", "fields"),
    [
        ("create", EventKind.CREATE, {}),
        ("new release", EventKind.NEW_RELEASE, {}),
        ("add py3 file ctx-0.2.6-py3-none-any.whl", EventKind.ADD_FILE,
         {"filename": "ctx-0.2.6-py3-none-any.whl", "python_version": "py3"}),
        ("add source file ctx-0.2.6.tar.gz", EventKind.ADD_FILE,
         {"filename": "ctx-0.2.6.tar.gz", "python_version": "source"}),
        ("remove file ctx-0.2.6.tar.gz", EventKind.REMOVE_FILE, {"filename": "ctx-0.2.6.tar.gz"}),
        ("remove release", EventKind.REMOVE_RELEASE, {}),
        ("remove project", EventKind.REMOVE_PROJECT, {}),
        ("yank release", EventKind.YANK, {}),
        ("unyank release", EventKind.UNYANK, {}),
        ("project quarantined", EventKind.QUARANTINE_PROJECT, {}),
        ("project quarantine cleared", EventKind.QUARANTINE_PROJECT_CLEARED, {}),
        ("release quarantined", EventKind.QUARANTINE_RELEASE, {}),
        ("release quarantine cleared", EventKind.QUARANTINE_RELEASE_CLEARED, {}),
        ("add Owner alice", EventKind.ROLE_ADD, {"user": "alice", "role": "Owner"}),
        ("add Maintainer bob.b-1", EventKind.ROLE_ADD, {"user": "bob.b-1", "role": "Maintainer"}),
        ("remove Owner alice", EventKind.ROLE_REMOVE, {"user": "alice", "role": "Owner"}),
        ("change Owner bob to Maintainer", EventKind.ROLE_CHANGE,
         {"user": "bob", "old_role": "Owner", "role": "Maintainer"}),
        ("invite Maintainer carol", EventKind.ROLE_INVITE, {"user": "carol", "role": "Maintainer"}),
        ("revoke_invite Maintainer carol", EventKind.ROLE_REVOKE_INVITE,
         {"user": "carol", "role": "Maintainer"}),
        ("accepted Maintainer carol", EventKind.ROLE_ACCEPT,
         {"user": "carol", "role": "Maintainer"}),
        ("docdestroy", EventKind.OTHER, {}),
        ("transfer project from alice to org", EventKind.OTHER, {}),
        ("", EventKind.OTHER, {}),
    ],
)
def test_every_warehouse_action(action: str, kind: EventKind, fields: dict[str, str]) -> None:
    event = parse_action(7, AT, "ctx", "0.2.6", action)
    assert event.kind is kind
    assert event.raw == action
    for name, value in fields.items():
        assert getattr(event, name) == value
    for name in {"filename", "python_version", "user", "role", "old_role"} - set(fields):
        assert getattr(event, name) is None


@given(st.text(max_size=300))
def test_arbitrary_action_strings_never_crash(action: str) -> None:
    event = parse_action(1, AT, "p", None, action)
    assert event.raw == action
    if event.kind is EventKind.OTHER:
        assert event.filename is None and event.user is None


@given(st.sampled_from(["add", "remove", "invite", "revoke_invite", "accepted"]),
       st.from_regex(r"[A-Z][a-z]{2,10}", fullmatch=True),
       st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True))
def test_role_actions_round_trip(verb: str, role: str, user: str) -> None:
    event = parse_action(1, AT, "p", None, f"{verb} {role} {user}")
    assert (event.role, event.user) == (role, user)
    assert event.kind.name.startswith("ROLE_")
