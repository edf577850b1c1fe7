"""What the index may send: one schema per upstream message, with every limit in one place.

The index is untrusted. A changelog entry is checked field by field (types, lengths,
ranges, no control characters) before it becomes an `IndexEvent`; an entry that fails
becomes a `RejectedEntry` carrying the entry verbatim and the reason, so the feed can
record it, raise a feed anomaly and move on. A JSON API document is checked whole: a
document that fails (or that is about another project than the one asked for) is
rejected as a unit and the feed goes on without it.

The limits follow what Warehouse itself can hold (`journals.id` is an integer; user names
are at most 50 characters) with room to spare, and what the store's columns hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from bot.events import IndexEvent, RejectedEntry, parse_action, verbatim
from bot.names import canonicalize

MAX_SERIAL = 2**63 - 1  # the store's BIGINT
MAX_NAME = 512
MAX_VERSION = 512
MAX_ACTION = 4096
MAX_USER = 256
MAX_ROLE = 64
MAX_FILENAME = 1024
MAX_PYTHON_VERSION = 64
MAX_PACKAGETYPE = 32
MAX_REQUIRES_PYTHON = 256
MAX_REQUIREMENT = 4096
MAX_REQUIREMENTS = 10_000
MAX_URL = 4096
MAX_REASON = 4096
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # before any package index existed
FUTURE_SLACK = timedelta(days=1)  # clock skew we tolerate in an entry's timestamp

# C0 and C1 control characters and DEL: no name, version or action legitimately has one,
# and they are how text attacks a terminal.
_PLAIN = r"^[^\x00-\x1f\x7f-\x9f]*$"


def _plain(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=_PLAIN)


Name = Annotated[str, _plain(MAX_NAME, 1)]
Version = Annotated[str, _plain(MAX_VERSION)]
Action = Annotated[str, _plain(MAX_ACTION)]
Filename = Annotated[str, _plain(MAX_FILENAME, 1)]
PackageType = Annotated[str, _plain(MAX_PACKAGETYPE)]
PythonVersion = Annotated[str, _plain(MAX_PYTHON_VERSION)]
RequiresPython = Annotated[str, _plain(MAX_REQUIRES_PYTHON)]
Stamp = Annotated[str, _plain(64)]
Url = Annotated[str, _plain(MAX_URL)]
Role = Annotated[str, _plain(MAX_ROLE, 1)]
User = Annotated[str, _plain(MAX_USER, 1)]
LongText = Annotated[str, StringConstraints(max_length=MAX_REASON)]
Serial = Annotated[int, Field(ge=1, le=MAX_SERIAL)]
Size = Annotated[int, Field(ge=0, le=MAX_SERIAL)]
Timestamp = Annotated[int | float, Field(ge=EARLIEST.timestamp(), allow_inf_nan=False)]

_ENTRY: TypeAdapter[tuple[str, str | None, int | float, str, int]] = TypeAdapter(
    tuple[Name, Version | None, Timestamp, Action, Serial], config=ConfigDict(strict=True),
)


# -- changelog entries ---------------------------------------------------------------


def _reason(exc: ValidationError) -> str:
    fields = ("name", "version", "timestamp", "action", "serial")
    parts = []
    for error in exc.errors(include_url=False)[:3]:
        loc = error["loc"]
        where = fields[loc[0]] if loc and isinstance(loc[0], int) and loc[0] < 5 else "entry"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)[:MAX_REASON]


def _serial_of(entry: Any) -> int | None:
    """The entry's serial when it is one the store can hold (to place the rejection)."""
    if isinstance(entry, list | tuple) and len(entry) == 5:
        serial = entry[4]
        if type(serial) is int and 1 <= serial <= MAX_SERIAL:
            return serial
    return None


def _check_parsed(event: IndexEvent) -> str | None:
    """Limits on what the action string names (a user, a role, a file)."""
    if event.user is not None and len(event.user) > MAX_USER:
        return f"action: user name longer than {MAX_USER} characters"
    if event.role is not None and len(event.role) > MAX_ROLE:
        return f"action: role longer than {MAX_ROLE} characters"
    if event.old_role is not None and len(event.old_role) > MAX_ROLE:
        return f"action: role longer than {MAX_ROLE} characters"
    if event.filename is not None and len(event.filename) > MAX_FILENAME:
        return f"action: file name longer than {MAX_FILENAME} characters"
    if event.python_version is not None and len(event.python_version) > MAX_PYTHON_VERSION:
        return f"action: python version longer than {MAX_PYTHON_VERSION} characters"
    return None


def check_entry(entry: Any, now: datetime) -> IndexEvent | RejectedEntry:
    """One `(name, version, unix_ts, action, id)` entry as an event, or its rejection."""
    if not isinstance(entry, list | tuple) or len(entry) != 5:
        return RejectedEntry(None, verbatim(entry), "entry: not an array of 5 values")
    try:
        name, version, timestamp, action, serial = _ENTRY.validate_python(tuple(entry))
    except ValidationError as exc:
        return RejectedEntry(_serial_of(entry), verbatim(entry), _reason(exc))
    except Exception as exc:  # a value pydantic cannot even look at
        return RejectedEntry(_serial_of(entry), verbatim(entry), f"entry: {type(exc).__name__}")
    at = datetime.fromtimestamp(timestamp, tz=UTC) if timestamp < 32503680000 else None
    if at is None or at > now + FUTURE_SLACK:
        return RejectedEntry(serial, verbatim(entry), "timestamp: later than the present")
    event = parse_action(serial, at, name, version or None, action)
    problem = _check_parsed(event)
    if problem is not None:
        return RejectedEntry(serial, verbatim(entry), problem)
    return event


@dataclass(frozen=True, slots=True)
class Page:
    """A changelog page: the entries that passed, in serial order, and those that did not."""

    events: list[IndexEvent]
    rejected: list[RejectedEntry]
    size: int  # entries received, valid or not

    def __bool__(self) -> bool:
        return self.size > 0


def check_page(entries: Sequence[Any], now: datetime | None = None) -> Page:
    """Check every entry; order by serial, and keep one entry per serial.

    An index sends entries in serial order. One out of order is sorted into place; a
    second, different entry under a serial already seen is rejected (which one of the
    two is true cannot be known, the first one wins).
    """
    now = now or datetime.now(UTC)
    events: dict[int, IndexEvent] = {}
    raw: dict[int, Any] = {}
    rejected: list[RejectedEntry] = []
    for entry in entries:
        checked = check_entry(entry, now)
        if isinstance(checked, RejectedEntry):
            rejected.append(checked)
            continue
        seen = events.get(checked.serial)
        if seen is None:
            events[checked.serial], raw[checked.serial] = checked, entry
        elif list(raw[checked.serial]) != list(entry):
            rejected.append(RejectedEntry(checked.serial, verbatim(entry),
                                          "serial: a different entry has the same serial"))
    ordered = [events[s] for s in sorted(events)]
    return Page(ordered, rejected, len(entries))


# -- the JSON API's project document ---------------------------------------------------


Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
Hex32 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{32}$")]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class DigestsDoc(_Model):
    sha256: Hex64
    blake2b_256: Hex64
    md5: Hex32 | None = None


class FileDoc(_Model):
    filename: Filename
    size: Size
    digests: DigestsDoc
    packagetype: PackageType | None = None
    python_version: PythonVersion | None = None
    requires_python: RequiresPython | None = None
    upload_time_iso_8601: Stamp | None = None
    upload_time: Stamp | None = None
    url: Url | None = None
    yanked: bool = False
    yanked_reason: LongText | None = None


class InfoDoc(_Model):
    name: Name
    requires_dist: Annotated[
        list[Annotated[str, StringConstraints(max_length=MAX_REQUIREMENT)]],
        Field(max_length=MAX_REQUIREMENTS),
    ] | None = None
    author_email: LongText | None = None
    maintainer_email: LongText | None = None


class RoleDoc(_Model):
    role: Role
    user: User


class OwnershipDoc(_Model):
    roles: list[RoleDoc] = []


class ProjectDoc(_Model):
    """`/pypi/<project>/json` as Warehouse writes it (legacy/api/json.py), fields we use."""

    info: InfoDoc
    releases: dict[Version, list[FileDoc]]
    last_serial: Size
    ownership: OwnershipDoc | None = None

    @model_validator(mode="after")
    def _filenames_unique(self) -> ProjectDoc:
        # Warehouse never reuses a filename, not even across releases or after a removal.
        seen: dict[str, str] = {}
        for version, files in self.releases.items():
            for file in files:
                if file.filename in seen:
                    raise ValueError(f"file {file.filename!r} is listed more than once "
                                     f"(releases {seen[file.filename]!r} and {version!r})")
                seen[file.filename] = version
        return self


def document_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:3]:
        where = ".".join(str(p) for p in error["loc"])[:200] or "document"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)[:MAX_REASON]


def same_project(asked: str, answered: str) -> bool:
    return canonicalize(asked) == canonicalize(answered)
