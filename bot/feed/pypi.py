"""The PyPI feed: changelog over XML-RPC, project facts over the JSON API.

`changelog_since_serial(serial)` returns `(name, version, unix_ts, action, id)` tuples,
at most 50,000 a call, ordered by id. A response that is not a list of entries at all is
rejected whole (and retried by the caller), so it never moves the cursor; within a list,
each entry is checked on its own (bot.feed.schema) and a bad one is set aside, not fatal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from bot.events import verbatim
from bot.facts import FileFacts, ProjectFacts
from bot.feed.client import BadAnswers, IndexClient
from bot.feed.schema import (
    MAX_SERIAL,
    FileDoc,
    Page,
    ProjectDoc,
    check_page,
    document_reason,
    same_project,
)
from bot.feed.xmlrpc import MalformedResponse, decode_response
from bot.names import canonicalize


def decode_changelog(value: Any, now: datetime | None = None) -> Page:
    """A decoded changelog_since_serial value as a checked page, or MalformedResponse
    when it is not a list at all (then nothing in it can be trusted)."""
    if not isinstance(value, list):
        raise MalformedResponse(f"changelog is {type(value).__name__}, expected an array")
    return check_page(value, now)


def decode_changelog_body(body: bytes, now: datetime | None = None) -> Page:
    """A changelog response body as a checked page, decoded without entity expansion."""
    return decode_changelog(decode_response(body), now)


class RejectedDocument(MalformedResponse):
    """A JSON API document that is not a valid answer about the project asked for."""

    def __init__(self, reason: str, raw: str = "") -> None:
        super().__init__(reason)
        self.reason, self.raw = reason, raw


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _file_facts(doc: FileDoc, version: str) -> FileFacts:
    return FileFacts(
        filename=doc.filename, version=version, packagetype=doc.packagetype or None,
        python_version=doc.python_version or None, requires_python=doc.requires_python or None,
        size=doc.size, sha256=doc.digests.sha256.lower(),
        blake2b_256=doc.digests.blake2b_256.lower(),
        md5=doc.digests.md5.lower() if doc.digests.md5 else None,
        upload_time=_time(doc.upload_time_iso_8601 or doc.upload_time), url=doc.url or "",
        yanked=doc.yanked, yanked_reason=doc.yanked_reason or None,
    )


def decode_project(doc: Any, asked: str | None = None) -> ProjectFacts:
    """Validate a /pypi/<project>/json document (about `asked`, when given), or raise
    RejectedDocument saying why."""
    try:
        checked = ProjectDoc.model_validate(doc)
    except ValidationError as exc:
        raise RejectedDocument(f"project JSON: {document_reason(exc)}", verbatim(doc)) from None
    name = checked.info.name
    if asked is not None and not same_project(asked, name):
        raise RejectedDocument(f"asked for {asked!r}, the answer is about {name!r}",
                               verbatim(doc))
    releases = {version: [_file_facts(f, version) for f in files]
                for version, files in checked.releases.items()}
    roles = [(r.role, r.user) for r in checked.ownership.roles] if checked.ownership else []
    return ProjectFacts(name, checked.last_serial, releases,
                        list(checked.info.requires_dist or []), roles,
                        author_email=checked.info.author_email,
                        maintainer_email=checked.info.maintainer_email)


class PyPIFeed:
    """Reads one index through its PyPI-compatible public protocols."""

    def __init__(self, client: IndexClient) -> None:
        self.client = client

    async def last_serial(self) -> int:
        """The index's newest serial (0 for an index without any, where Warehouse says None)."""
        value: object = await self.client.xmlrpc("changelog_last_serial")
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SERIAL:
            raise BadAnswers(f"changelog_last_serial gave {verbatim(value)[:80]}")
        return value

    async def changelog_since(self, serial: int) -> Page:
        return await self.client.xmlrpc("changelog_since_serial", serial,
                                        decode=decode_changelog_body)

    async def project(self, name: str) -> ProjectFacts | None:
        """The project's facts; None when the index says it does not exist.

        Raises RejectedDocument when the index's answers about it are unusable (after
        retries) and IndexUnavailable when the index cannot be reached.
        """
        path = f"/pypi/{quote(canonicalize(name), safe='')}/json"
        try:
            doc = await self.client.get_json(path)
        except BadAnswers as exc:
            raise RejectedDocument(str(exc)) from exc
        return None if doc is None else decode_project(doc, asked=name)
