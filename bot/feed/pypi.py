"""The PyPI feed: changelog over XML-RPC, project facts over the JSON API.

`changelog_since_serial(serial)` returns `(name, version, unix_ts, action, id)` tuples,
at most 50,000 a call, ordered by id. A response that does not have that shape is
rejected whole (and retried by the caller), so a bad answer never moves the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.events import EventParseError, IndexEvent, parse_entry
from bot.feed.changelog_xml import fast_changelog
from bot.feed.client import IndexClient, IndexUnavailable
from bot.feed.xmlrpc import MalformedResponse, decode_response


def decode_changelog(value: Any) -> list[IndexEvent]:
    """Turn a decoded changelog_since_serial value into events, or raise MalformedResponse."""
    if not isinstance(value, list):
        raise MalformedResponse(f"changelog is {type(value).__name__}, expected an array")
    events: list[IndexEvent] = []
    last = -1
    for i, entry in enumerate(value):
        if not isinstance(entry, list | tuple) or len(entry) != 5:
            raise MalformedResponse(f"changelog entry {i} is not a 5-tuple: {entry!r:.120}")
        try:
            event = parse_entry(*entry)
        except EventParseError as exc:
            raise MalformedResponse(f"changelog entry {i}: {exc}") from None
        if event.serial <= last:
            raise MalformedResponse(f"changelog entry {i}: serial {event.serial} out of order")
        last = event.serial
        events.append(event)
    return events


def decode_changelog_body(body: bytes) -> list[IndexEvent]:
    """A changelog response body as events: the strict fast path, else the general decoder."""
    entries = fast_changelog(body)
    return decode_changelog(decode_response(body) if entries is None else entries)


@dataclass(frozen=True, slots=True)
class FileFacts:
    filename: str
    version: str
    packagetype: str | None
    python_version: str | None
    requires_python: str | None
    size: int
    sha256: str
    blake2b_256: str
    md5: str | None
    upload_time: datetime | None
    url: str
    yanked: bool
    yanked_reason: str | None

    @property
    def path(self) -> str:
        """Where PyPI keeps the blob: packages/<b2[:2]>/<b2[2:4]>/<b2[4:]>/<filename>."""
        b2 = self.blake2b_256
        return f"packages/{b2[:2]}/{b2[2:4]}/{b2[4:]}/{self.filename}"


@dataclass(frozen=True, slots=True)
class ProjectFacts:
    name: str
    last_serial: int
    releases: dict[str, list[FileFacts]]
    requires_dist: list[str]
    roles: list[tuple[str, str]]  # (role, user) from the JSON API's "ownership"


def _str(doc: dict[str, Any], key: str, where: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str):
        raise MalformedResponse(f"{where}: {key!r} is not a string")
    return value


def _opt_str(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) and value else None


def _hex(value: object, length: int, where: str) -> str:
    if not isinstance(value, str) or len(value) != length:
        raise MalformedResponse(f"{where}: digest is not {length} hex characters")
    try:
        int(value, 16)
    except ValueError:
        raise MalformedResponse(f"{where}: digest is not hexadecimal") from None
    return value.lower()


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def decode_file(doc: object, version: str) -> FileFacts:
    if not isinstance(doc, dict):
        raise MalformedResponse(f"release {version}: file entry is not an object")
    filename = _str(doc, "filename", f"release {version}")
    where = f"file {filename}"
    digests = doc.get("digests")
    if not isinstance(digests, dict):
        raise MalformedResponse(f"{where}: no digests")
    size = doc.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise MalformedResponse(f"{where}: size is not a non-negative integer")
    md5 = digests.get("md5")
    return FileFacts(
        filename=filename,
        version=version,
        packagetype=_opt_str(doc, "packagetype"),
        python_version=_opt_str(doc, "python_version"),
        requires_python=_opt_str(doc, "requires_python"),
        size=size,
        sha256=_hex(digests.get("sha256"), 64, where),
        blake2b_256=_hex(digests.get("blake2b_256"), 64, where),
        md5=_hex(md5, 32, where) if md5 is not None else None,
        upload_time=_time(doc.get("upload_time_iso_8601") or doc.get("upload_time")),
        url=_opt_str(doc, "url") or "",
        yanked=doc.get("yanked") is True,
        yanked_reason=_opt_str(doc, "yanked_reason"),
    )


def decode_project(doc: dict[str, Any]) -> ProjectFacts:
    """Validate a /pypi/<project>/json document, or raise MalformedResponse."""
    info = doc.get("info")
    if not isinstance(info, dict):
        raise MalformedResponse("project JSON has no 'info' object")
    name = _str(info, "name", "info")
    releases_doc = doc.get("releases")
    if not isinstance(releases_doc, dict):
        raise MalformedResponse(f"project {name}: 'releases' is not an object")
    releases = {}
    for version, files in releases_doc.items():
        if not isinstance(files, list):
            raise MalformedResponse(f"project {name}: release {version!r} is not a list")
        releases[str(version)] = [decode_file(f, str(version)) for f in files]
    serial = doc.get("last_serial")
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise MalformedResponse(f"project {name}: 'last_serial' is not an integer")
    requires = info.get("requires_dist") or []
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise MalformedResponse(f"project {name}: 'requires_dist' is not a list of strings")
    roles: list[tuple[str, str]] = []
    ownership = doc.get("ownership")
    if isinstance(ownership, dict) and isinstance(ownership.get("roles"), list):
        for entry in ownership["roles"]:
            if isinstance(entry, dict):
                role, user = entry.get("role"), entry.get("user")
                if isinstance(role, str) and isinstance(user, str):
                    roles.append((role, user))
    return ProjectFacts(name, serial, releases, list(requires), roles)


class PyPIFeed:
    """Reads one index through its PyPI-compatible public protocols."""

    def __init__(self, client: IndexClient) -> None:
        self.client = client

    async def last_serial(self) -> int:
        value: object = await self.client.xmlrpc("changelog_last_serial")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise IndexUnavailable(f"changelog_last_serial gave {value!r:.80}")
        return value

    async def changelog_since(self, serial: int) -> list[IndexEvent]:
        return await self.client.xmlrpc("changelog_since_serial", serial,
                                            decode=decode_changelog_body)

    async def project(self, name: str) -> ProjectFacts | None:
        doc = await self.client.get_json(f"/pypi/{name}/json")
        if doc is None:
            return None
        try:
            return decode_project(doc)
        except MalformedResponse as exc:
            raise IndexUnavailable(f"/pypi/{name}/json: {exc}") from exc
