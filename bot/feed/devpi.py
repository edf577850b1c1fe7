"""Reading a devpi primary the way its replicas do: ``GET /+changelog/{serial}-``.

devpi-server (6.x, replica.py) serves its changelog only to a replica identity: a
``Bearer`` token that is the replica's UUID signed (itsdangerous TimedSerializer, valid
~38 s) with the key devpi derives from its secret for replication
(``config.get_replica_secret()``), and only when it runs with ``--role primary``. The
answer is every keyfs change from that serial on, up to ~5 MB a page, in devpi's own
serialization (bot.feed.devpi_wire); ``202`` means nothing new. ``X-DEVPI-SERIAL`` is
the primary's head and ``X-DEVPI-UUID`` its identity: the feed sends back the UUID it
first saw, and devpi refuses the request if it is another server now. Release files
are fetched the same way a replica fetches them (``GET /{relpath}``), size-capped and
checked against the sha256 the changelog gave before they are kept.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import itsdangerous
from yarl import URL

from bot.feed.client import IndexClient, IndexUnavailable
from bot.feed.devpi_wire import WireError, loads
from bot.feed.xmlrpc import MalformedResponse

__all__ = ["ChangelogPage", "DevpiFeed", "FileProblem"]

_UUID = re.compile(r"[0-9a-f]{32}")
MAX_SERIAL = 2**62


@dataclass(frozen=True, slots=True)
class ChangelogPage:
    head: int  # the primary's last serial
    uuid: str  # the primary's identity
    entries: list[tuple[int, Any]]  # (serial, changes), consecutive from the serial asked


class FileProblem(Exception):
    """A release file that could not be kept (gone, too large, another digest)."""


def _serial(value: str | None) -> int:
    if value is None or not value.isascii() or not value.lstrip("-").isdigit() or len(
            value) > 19:
        raise MalformedResponse(f"X-DEVPI-SERIAL is {str(value)[:40]!r}")
    serial = int(value)
    if not -1 <= serial <= MAX_SERIAL:
        raise MalformedResponse(f"X-DEVPI-SERIAL {serial} is out of range")
    return serial


def check_page(asked: int, value: Any, head: int) -> list[tuple[int, Any]]:
    """The decoded body as entries numbered asked, asked+1, ... up to the head."""
    if not isinstance(value, list):
        raise MalformedResponse(f"changelog page is {type(value).__name__}, expected a list")
    entries: list[tuple[int, Any]] = []
    for position, item in enumerate(value):
        if not (isinstance(item, tuple | list) and len(item) == 2 and type(item[0]) is int):
            raise MalformedResponse(f"changelog page: item {position} is not (serial, changes)")
        if item[0] != asked + position or item[0] > head:
            raise MalformedResponse(f"changelog page: serial {item[0]} where {asked + position} "
                                    f"was due (head {head})")
        entries.append((item[0], item[1]))
    return entries


class DevpiFeed:
    """One devpi primary, read as a replica (read-only: the replication protocol changes
    nothing on the primary beyond listing the reader under its polling replicas)."""

    def __init__(self, client: IndexClient, replica_key: bytes, replica_uuid: str,
                 max_file_bytes: int = 512 * 1024 * 1024) -> None:
        if not _UUID.fullmatch(replica_uuid):
            raise ValueError("replica_uuid must be 32 lowercase hex digits")
        self.client = client
        self._signer = itsdangerous.TimedSerializer(replica_key)
        self.replica_uuid = replica_uuid
        self.max_file_bytes = max_file_bytes

    def _headers(self, primary_uuid: str | None) -> dict[str, str]:
        token = self._signer.dumps(self.replica_uuid)
        assert isinstance(token, str)
        return {"Authorization": f"Bearer {token}", "X-DEVPI-REPLICA-UUID": self.replica_uuid,
                # Empty on the first request: devpi then accepts any primary.
                "X-DEVPI-EXPECTED-PRIMARY-ID": primary_uuid or "",
                "Accept": "application/octet-stream"}

    async def changes_since(self, serial: int, primary_uuid: str | None) -> ChangelogPage:
        """Entries from `serial` on (none when the primary has nothing new)."""

        async def attempt() -> ChangelogPage:
            # initial_fetch: devpi waits one second, not thirty, when nothing is new.
            url = f"{self.client.base_url}/+changelog/{serial}-?initial_fetch"
            async with self.client.session.get(url, headers=self._headers(primary_uuid),
                                               allow_redirects=False) as response:
                self.client._check_status(response)
                if response.status in (401, 403):  # no retry can change that
                    text = (await self.client._read(response))[:200].decode(errors="replace")
                    raise IndexUnavailable(
                        f"devpi refused the replica token (HTTP {response.status}: "
                        f"{text.strip()!r}): devpi must run with --role primary and "
                        "WARDEN_DEVPI_REPLICA_KEY be the key derived from its secret")
                head = _serial(response.headers.get("X-DEVPI-SERIAL"))
                uuid = response.headers.get("X-DEVPI-UUID", "")
                if not _UUID.fullmatch(uuid):
                    raise MalformedResponse(f"X-DEVPI-UUID is {uuid[:40]!r}")
                if response.status == 202 or (response.status == 400 and primary_uuid
                                              and uuid != primary_uuid):
                    # 400 with another UUID: devpi refused our expected primary id, it is
                    # another server (the caller compares the UUIDs and stops).
                    return ChangelogPage(head, uuid, [])
                if response.status != 200:
                    body = (await self.client._read(response))[:300]
                    raise MalformedResponse(f"GET /+changelog/{serial}-: HTTP {response.status}"
                                            f" {body!r}")
                try:
                    value = loads(await self.client._read(response))
                except WireError as exc:
                    raise MalformedResponse(f"changelog page: {exc}") from None
                return ChangelogPage(head, uuid, check_page(serial, value, head))

        return await self.client._with_retries(f"devpi changelog {serial}-", attempt)

    async def fetch_file(self, relpath: str, sha256: str) -> bytes:
        """The file's bytes, checked against `sha256`; FileProblem when it cannot be kept."""
        path = URL(f"{self.client.base_url}/").join(URL(relpath))
        if path.origin() != URL(self.client.base_url).origin() or ".." in relpath.split("/"):
            raise FileProblem(f"{relpath}: not a path on the primary")

        async def attempt() -> bytes | None:
            headers = self._headers(None)
            headers["Accept"] = "*/*"
            async with self.client.session.get(path, headers=headers,
                                               allow_redirects=False) as response:
                self.client._check_status(response)
                if response.status in (404, 410):
                    return None
                if response.status != 200:
                    raise MalformedResponse(f"GET {relpath}: HTTP {response.status}")
                declared = response.content_length
                if declared is not None and declared > self.max_file_bytes:
                    raise FileProblem(f"{relpath}: {declared} bytes, over the cap")
                chunks, total = [], 0
                async for chunk in response.content.iter_chunked(1 << 16):
                    total += len(chunk)
                    if total > self.max_file_bytes:
                        raise FileProblem(f"{relpath}: over {self.max_file_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)

        data = await self.client._with_retries(f"devpi file {relpath[:200]}", attempt)
        if data is None:
            raise FileProblem(f"{relpath}: no longer on the primary")
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise FileProblem(f"{relpath}: sha256 is {got}, the changelog says {sha256}")
        return data
