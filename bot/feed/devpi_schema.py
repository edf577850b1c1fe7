"""What a devpi changelog entry may say: keyfs changes checked at the edge.

One replica changelog entry is ``{relpath: (keyname, back_serial, value)}`` for every
key a devpi transaction wrote (value None: deleted). Only the keys the feed uses are
read, each checked field by field (types, lengths, no control characters, paths that
agree with the key); anything else in a value is dropped here, above all a user's
``pwhash``, which never leaves this module. A key that fails becomes a RejectedEntry,
so one bad key sets that key aside and never the whole feed.

Key names are those of devpi-server 6 (model.py ``add_keys``): USER ``{user}/.config``,
PROJVERSIONS ``{user}/{index}/{project}/.versions``, PROJVERSION
``{user}/{index}/{project}/{version}/.config``, STAGEFILE ``{user}/{index}/+f/{a}/{b}/
{filename}``. Keys derived from those (USERLIST, PROJNAMES, PROJSIMPLELINKS) and those
the bot has no use for (documentation, test results, mirror state) are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.events import RejectedEntry, verbatim
from bot.feed.schema import MAX_FILENAME, MAX_NAME, MAX_USER, MAX_VERSION

__all__ = ["FileChange", "IndexConfig", "ProjectChange", "UserChange", "check_entry"]

MAX_KEYS = 100_000  # keys in one entry
MAX_LIST = 10_000  # bases, acl members, versions
MAX_INDEX = MAX_USER * 2 + 1
_PLAIN = re.compile(r"[^\x00-\x1f\x7f-\x9f]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
SKIPPED = frozenset({"USERLIST", "PROJNAMES", "PROJSIMPLELINKS", "PROJVERSION",
                     "STAGEDOCS", "STAGEDOCSFILE", "PYPI_SERIALS_LOADED", "MIRRORNAMESINIT",
                     "STAGEFILE_TOXRESULT", "FILEPATH"})


class Bad(ValueError):
    """A key or value that is not what devpi writes."""


def _text(value: Any, what: str, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise Bad(f"{what}: not a string")
    if len(value) > limit or (not value and not empty) or not _PLAIN.fullmatch(value):
        raise Bad(f"{what}: empty, longer than {limit} or with control characters")
    return value


def _names(value: Any, what: str, limit: int) -> tuple[str, ...]:
    if not isinstance(value, list | tuple | set | frozenset) or len(value) > MAX_LIST:
        raise Bad(f"{what}: not a list of at most {MAX_LIST} names")
    return tuple(sorted(_text(v, what, limit) for v in value))


@dataclass(frozen=True, slots=True)
class IndexConfig:
    type: str
    bases: tuple[str, ...]
    acl_upload: tuple[str, ...]
    mirror_whitelist: tuple[str, ...] = ()
    whitelist_inheritance: str = "union"


@dataclass(frozen=True, slots=True)
class UserChange:
    username: str
    email: str | None
    indexes: dict[str, IndexConfig] | None  # None: the user (and their indexes) is gone


@dataclass(frozen=True, slots=True)
class ProjectChange:
    index: str
    project: str  # as in the key (devpi keys use the normalized name)
    versions: tuple[str, ...] | None  # None: the project is gone


@dataclass(frozen=True, slots=True)
class FileChange:
    relpath: str
    index: str
    filename: str
    project: str | None  # None on a deletion (the ledger knows it)
    version: str | None
    sha256: str | None
    uploader: str | None = None


Change = UserChange | ProjectChange | FileChange


def _user(parts: list[str], value: Any) -> UserChange:
    username = _text(parts[0], "user", MAX_USER)
    if value is None:
        return UserChange(username, None, None)
    if not isinstance(value, dict):
        raise Bad("user record: not a mapping")
    email = value.get("email")
    email = _text(email, "email", 512, empty=True) or None if email is not None else None
    raw = value.get("indexes") or {}
    if not isinstance(raw, dict) or len(raw) > MAX_LIST:
        raise Bad("user record: indexes is not a mapping")
    indexes: dict[str, IndexConfig] = {}
    for name, config in raw.items():
        name = _text(name, "index name", MAX_USER)
        if not isinstance(config, dict):
            raise Bad(f"index {name}: config is not a mapping")
        indexes[f"{username}/{name}"] = IndexConfig(
            _text(config.get("type", "stage"), "index type", 64),
            _names(config.get("bases", ()), "bases", MAX_INDEX),
            _names(config.get("acl_upload", ()), "acl_upload", MAX_USER),
            _names(config.get("mirror_whitelist", ()), "mirror_whitelist", MAX_NAME),
            _text(config.get("mirror_whitelist_inheritance", "union"), "inheritance", 32))
    return UserChange(username, email, indexes)


def _project(parts: list[str], value: Any) -> ProjectChange:
    index = f"{_text(parts[0], 'user', MAX_USER)}/{_text(parts[1], 'index', MAX_USER)}"
    project = _text(parts[2], "project", MAX_NAME)
    if value is None:
        return ProjectChange(index, project, None)
    return ProjectChange(index, project, _names(value, "versions", MAX_VERSION))


def _file(relpath: str, parts: list[str], value: Any) -> FileChange:
    index = f"{_text(parts[0], 'user', MAX_USER)}/{_text(parts[1], 'index', MAX_USER)}"
    filename = _text(parts[-1], "filename", MAX_FILENAME)
    if filename.startswith(".") or "\\" in filename:
        raise Bad("filename: not a plain file name")
    if value is None:
        return FileChange(relpath, index, filename, None, None, None)
    if not isinstance(value, dict):
        raise Bad("file entry: not a mapping")
    hashes = value.get("hashes")
    sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
    if sha256 is None:
        spec = value.get("hash_spec")
        if isinstance(spec, str) and spec.startswith("sha256="):
            sha256 = spec.removeprefix("sha256=")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.lower()):
        raise Bad("file entry: no sha256")
    return FileChange(relpath, index, filename, _text(value.get("project"), "project", MAX_NAME),
                      _text(value.get("version"), "version", MAX_VERSION), sha256.lower())


def _uploaders(changes: dict[Any, Any]) -> dict[str, str]:
    """{entrypath: who} from the release configs written in the same transaction (the
    ``+elinks`` log devpi keeps per file); a malformed one only loses the uploader."""
    found: dict[str, str] = {}
    for entry in changes.values():
        if not (isinstance(entry, tuple | list) and len(entry) == 3
                and entry[0] == "PROJVERSION" and isinstance(entry[2], dict)):
            continue
        for link in entry[2].get("+elinks") or ():
            if not isinstance(link, dict) or not isinstance(link.get("entrypath"), str):
                continue
            log = link.get("_log")
            if isinstance(log, list | tuple) and log and isinstance(log[-1], dict):
                who = log[-1].get("who")
                if isinstance(who, str) and _PLAIN.fullmatch(who) and len(who) <= MAX_USER:
                    found[link["entrypath"]] = who
    return found


def check_entry(serial: int, changes: Any) -> tuple[list[Change], list[RejectedEntry]]:
    """The changes the feed uses from one changelog entry, and the keys set aside."""
    if not isinstance(changes, dict) or len(changes) > MAX_KEYS:
        return [], [RejectedEntry(serial, verbatim(type(changes).__name__),
                                  "entry: not a mapping of at most "
                                  f"{MAX_KEYS} keys", source="devpi")]
    found: list[Change] = []
    rejected: list[RejectedEntry] = []
    uploaders = _uploaders(changes)
    for relpath, entry in changes.items():
        try:
            if not isinstance(relpath, str) or len(relpath) > 2048:
                raise Bad("key: not a path of at most 2048 characters")
            if not (isinstance(entry, tuple | list) and len(entry) == 3):
                raise Bad("key: not (keyname, back_serial, value)")
            keyname, value = entry[0], entry[2]
            parts = relpath.split("/")
            if keyname == "USER" and len(parts) == 2 and parts[1] == ".config":
                found.append(_user(parts, value))
            elif keyname == "PROJVERSIONS" and len(parts) == 4 and parts[3] == ".versions":
                found.append(_project(parts, value))
            elif keyname == "STAGEFILE" and len(parts) >= 4 and parts[2] == "+f":
                change = _file(relpath, parts, value)
                who = uploaders.get(relpath)
                found.append(FileChange(change.relpath, change.index, change.filename,
                                        change.project, change.version, change.sha256, who))
            elif keyname in SKIPPED or not isinstance(keyname, str):
                continue
            # Other key names (a newer devpi, a plugin) carry nothing the feed reads.
        except Bad as exc:
            # Never the value itself: a user record holds a password hash.
            rejected.append(RejectedEntry(serial, verbatim([relpath, entry[0] if isinstance(
                entry, tuple | list) and entry else None]), str(exc), source="devpi"))
    return found, rejected
