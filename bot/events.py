"""IndexEvent and the parser of the index's changelog entries.

Warehouse writes one `journals` row per change, and XML-RPC `changelog_since_serial`
returns them as `(name, version, unix_ts, action, id)`. The action is free text in a
handful of fixed shapes; everything we do not recognise becomes an `other` event that
keeps its raw text, so nothing is silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class EventKind(StrEnum):
    CREATE = "create"
    NEW_RELEASE = "new_release"
    ADD_FILE = "add_file"
    REMOVE_FILE = "remove_file"
    REMOVE_RELEASE = "remove_release"
    REMOVE_PROJECT = "remove_project"
    YANK = "yank"
    UNYANK = "unyank"
    QUARANTINE_PROJECT = "quarantine_project"
    QUARANTINE_PROJECT_CLEARED = "quarantine_project_cleared"
    QUARANTINE_RELEASE = "quarantine_release"
    QUARANTINE_RELEASE_CLEARED = "quarantine_release_cleared"
    ROLE_ADD = "role_add"
    ROLE_REMOVE = "role_remove"
    ROLE_CHANGE = "role_change"
    ROLE_INVITE = "role_invite"
    ROLE_REVOKE_INVITE = "role_revoke_invite"
    ROLE_ACCEPT = "role_accept"
    OTHER = "other"


class EventParseError(ValueError):
    """A changelog entry that is not shaped like one (as opposed to an unknown action)."""


@dataclass(frozen=True, slots=True)
class IndexEvent:
    """One changelog entry, parsed."""

    serial: int
    at: datetime
    kind: EventKind
    project: str
    version: str | None
    raw: str  # the action string as received
    filename: str | None = None
    python_version: str | None = None  # "add <pyver> file <filename>"
    user: str | None = None  # the account a role action names
    role: str | None = None  # the role granted/removed/offered, or the new role on change
    old_role: str | None = None  # on role_change only
    actor: str | None = None  # who did it, where the index tells us (the changelog does not)


_FIXED: dict[str, EventKind] = {
    "create": EventKind.CREATE,
    "new release": EventKind.NEW_RELEASE,
    "remove release": EventKind.REMOVE_RELEASE,
    "remove project": EventKind.REMOVE_PROJECT,
    "yank release": EventKind.YANK,
    "unyank release": EventKind.UNYANK,
    "project quarantined": EventKind.QUARANTINE_PROJECT,
    "project quarantine cleared": EventKind.QUARANTINE_PROJECT_CLEARED,
    "release quarantined": EventKind.QUARANTINE_RELEASE,
    "release quarantine cleared": EventKind.QUARANTINE_RELEASE_CLEARED,
}

# Role names are single words in Warehouse ("Owner", "Maintainer"); user names are
# PyPI usernames ([A-Za-z0-9._-]), matched loosely as one non-space token.
_ADD_FILE = re.compile(r"add (\S+) file (.+)", re.DOTALL)
_REMOVE_FILE = re.compile(r"remove file (.+)", re.DOTALL)
_ROLE = re.compile(r"(add|remove|invite|revoke_invite|accepted) (\w+) (\S+)")
_CHANGE = re.compile(r"change (\w+) (\S+) to (\w+)")
_ROLE_KINDS = {
    "add": EventKind.ROLE_ADD,
    "remove": EventKind.ROLE_REMOVE,
    "invite": EventKind.ROLE_INVITE,
    "revoke_invite": EventKind.ROLE_REVOKE_INVITE,
    "accepted": EventKind.ROLE_ACCEPT,
}

MAX_ACTION_LENGTH = 4096
MAX_NAME_LENGTH = 512


def parse_entry(
    name: object, version: object, timestamp: object, action: object, serial: object
) -> IndexEvent:
    """Parse one `(name, version, unix_ts, action, id)` changelog tuple.

    Raises EventParseError when the tuple's fields have the wrong types or values;
    an unknown action is not an error, it becomes `EventKind.OTHER`.
    """
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        raise EventParseError(f"project name must be a non-empty string, got {name!r:.80}")
    if version is not None and not isinstance(version, str):
        raise EventParseError(f"version must be a string or None, got {version!r:.80}")
    if not isinstance(action, str) or len(action) > MAX_ACTION_LENGTH:
        raise EventParseError(f"action must be a string, got {action!r:.80}")
    if isinstance(serial, bool) or not isinstance(serial, int) or serial < 0:
        raise EventParseError(f"serial must be a non-negative integer, got {serial!r:.80}")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise EventParseError(f"timestamp must be a number, got {timestamp!r:.80}")
    try:
        at = datetime.fromtimestamp(timestamp, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise EventParseError(f"timestamp out of range: {timestamp!r}") from exc
    return parse_action(serial, at, name, version or None, action)


def parse_action(
    serial: int, at: datetime, project: str, version: str | None, action: str
) -> IndexEvent:
    """Turn one action string into a typed event (never raises)."""
    kind = _FIXED.get(action)
    if kind is not None:
        return IndexEvent(serial, at, kind, project, version, action)
    if action.startswith("add ") and " file " in action:
        m = _ADD_FILE.fullmatch(action)
        if m:
            return IndexEvent(
                serial, at, EventKind.ADD_FILE, project, version, action,
                filename=m.group(2), python_version=m.group(1),
            )
    if action.startswith("remove file "):
        m = _REMOVE_FILE.fullmatch(action)
        if m:
            return IndexEvent(
                serial, at, EventKind.REMOVE_FILE, project, version, action, filename=m.group(1)
            )
    m = _ROLE.fullmatch(action)
    if m:
        return IndexEvent(
            serial, at, _ROLE_KINDS[m.group(1)], project, version, action,
            user=m.group(3), role=m.group(2),
        )
    m = _CHANGE.fullmatch(action)
    if m:
        return IndexEvent(
            serial, at, EventKind.ROLE_CHANGE, project, version, action,
            user=m.group(2), old_role=m.group(1), role=m.group(3),
        )
    return IndexEvent(serial, at, EventKind.OTHER, project, version, action)
