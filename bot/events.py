"""IndexEvent and the parser of the index's changelog entries.

Warehouse writes one `journals` row per change, and XML-RPC `changelog_since_serial`
returns them as `(name, version, unix_ts, action, id)`. The action is free text in a
handful of fixed shapes; everything we do not recognise becomes an `other` event that
keeps its raw text, so nothing is silently dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


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
    index: str | None = None  # devpi: the index ("user/index") it happened on; None on PyPI
    sha256: str | None = None  # devpi: the file's digest, which its changelog carries


@dataclass(frozen=True, slots=True)
class RejectedEntry:
    """An entry from the index that failed validation, kept verbatim with the reason."""

    serial: int | None  # None when the serial itself was unusable
    raw: str  # the entry as received, as JSON text (see bot.feed.schema.verbatim)
    reason: str
    source: str = "changelog"  # or "json:<project>" for a JSON API document


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
# PyPI usernames ([A-Za-z0-9._-]), matched loosely as one non-space token. Team roles
# ("add Owner <team>", "remove ...", "change ... to ...") name a team, which may hold
# spaces; the journal does not say user or team, so both are role events naming it.
_ADD_FILE = re.compile(r"add (\S+) file (.+)", re.DOTALL)
_REMOVE_FILE = re.compile(r"remove file (.+)", re.DOTALL)
_ROLE = re.compile(r"(add|remove|invite|revoke_invite|accepted) (\w+) (\S+)")
_TEAM_ROLE = re.compile(r"(add|remove) (\w+) (\S(?:.*\S)?)", re.DOTALL)
_CHANGE = re.compile(r"change (\w+) (\S(?:.*\S)?) to (\w+)", re.DOTALL)
_ROLE_KINDS = {
    "add": EventKind.ROLE_ADD,
    "remove": EventKind.ROLE_REMOVE,
    "invite": EventKind.ROLE_INVITE,
    "revoke_invite": EventKind.ROLE_REVOKE_INVITE,
    "accepted": EventKind.ROLE_ACCEPT,
}

# Longest project name the bot accepts (the store's column; PyPI's are far shorter).
MAX_NAME_LENGTH = 512


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
    m = _ROLE.fullmatch(action) or _TEAM_ROLE.fullmatch(action)
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


MAX_VERBATIM = 64 * 1024  # what a rejected entry keeps of itself


def _short(value: Any, depth: int = 0) -> Any:
    """`value` made safe to serialize: long strings cut, huge integers described."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        # str() of an integer beyond 4,300 digits raises ValueError.
        return value if value.bit_length() <= 256 else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, str):
        return value if len(value) <= 2048 else f"{value[:2048]}…(+{len(value) - 2048} chars)"
    if isinstance(value, list | tuple) and depth < 4:
        items = [_short(v, depth + 1) for v in value[:16]]
        return items + ([f"…(+{len(value) - 16} items)"] if len(value) > 16 else [])
    if isinstance(value, dict) and depth < 4:
        return {str(k)[:256]: _short(v, depth + 1) for k, v in list(value.items())[:16]}
    return f"<{type(value).__name__}>"


def verbatim(value: Any) -> str:
    """The received value as JSON text (control characters escaped), capped in size."""
    text = json.dumps(_short(value), ensure_ascii=True, default=repr)
    return text if len(text) <= MAX_VERBATIM else text[:MAX_VERBATIM] + "…"
