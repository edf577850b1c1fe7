"""RDAP over aiohttp: the IANA bootstrap, per-server token buckets, 429 Retry-After,
redirects followed only where `redirects.RedirectPolicy` allows.

The bootstrap file (RFC 9224) maps TLDs to RDAP base URLs; a copy is bundled
(`data/iana-rdap-dns.json`) and `warden domain bootstrap` refreshes it. A configured
`rdap_url` replaces the bootstrap: every query goes to `{rdap_url}/domain/{name}`.
Nothing here raises for registry trouble; it is all in the `RegistryObservation`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDict

from detectors.domains.egress import PublicOnlyResolver, RefusedAddress
from detectors.domains.names import tld_of
from detectors.domains.ratelimit import Buckets, retry_after_seconds
from detectors.domains.rdap_parse import Malformed, decode, parse_domain
from detectors.domains.redirects import MAX_HOPS, REDIRECT_STATUSES, Hop, RedirectPolicy, RedirectRefused
from detectors.domains.registry import RegistryObservation

# Package data (pyproject.toml), read through importlib.resources like detectors.bundled.
BUNDLED_BOOTSTRAP: Traversable = files("detectors.domains") / "data" / "iana-rdap-dns.json"
IANA_BOOTSTRAP_URL = "https://data.iana.org/rdap/dns.json"
ACCEPT = "application/rdap+json, application/json;q=0.9"
MAX_BOOTSTRAP_BYTES = 1_000_000  # IANA's file is about 40 kB


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """TLD -> RDAP base URL (ending in "/"), preferring https."""

    services: dict[str, str]
    publication: str | None = None

    @classmethod
    def parse(cls, obj: Any) -> Bootstrap:
        if not isinstance(obj, dict) or not isinstance(obj.get("services"), list):
            raise ValueError("not an RDAP bootstrap file: no 'services' list")
        services: dict[str, str] = {}
        for entry in obj["services"]:
            if not (isinstance(entry, list) and len(entry) >= 2
                    and isinstance(entry[0], list) and isinstance(entry[1], list)):
                raise ValueError("a service entry is not [[tlds], [urls]]")
            urls = [u for u in entry[1] if isinstance(u, str) and u.startswith("http")]
            if not urls:
                continue
            best = next((u for u in urls if u.startswith("https://")), urls[0])
            for tld in entry[0]:
                if isinstance(tld, str):
                    services[tld.lower()] = best if best.endswith("/") else best + "/"
        if not services:
            raise ValueError("the bootstrap file lists no RDAP service")
        publication = obj.get("publication")
        return cls(services, publication if isinstance(publication, str) else None)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Bootstrap:
        source: Traversable = Path(path) if path else BUNDLED_BOOTSTRAP
        with source.open(encoding="utf-8") as fh:
            return cls.parse(json.load(fh))

    def base_url(self, domain: str) -> str | None:
        return self.services.get(tld_of(domain))


def server_key(url: str) -> str:
    """The rate-limit key of a URL: its scheme, host and port."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class _Answer:
    url: str  # where the final answer came from
    status: int
    headers: CIMultiDict[str]
    body: bytes
    hops: int  # redirects followed


class _NoAnswer(Exception):
    """A lookup that ends without an answer to read: the outcome and why."""

    def __init__(self, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.outcome, self.detail = outcome, detail


class RdapClient:
    """Looks domains up over RDAP, within each server's rate.

    Redirects are followed here, one hop at a time (`redirects.RedirectPolicy`): the
    lookup's own base over the ordinary connection, any other allowed host over a
    connection whose resolver accepts public addresses only (`egress`).
    """

    def __init__(
        self,
        bootstrap: Bootstrap,
        *,
        override_url: str | None = None,
        rate: float = 1.0,
        timeout: float = 15.0,
        max_retries: int = 3,
        max_retry_after: float = 300.0,
        max_bytes: int = 1_000_000,
        max_redirects: int = MAX_HOPS,
        user_agent: str = "index-warden",
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.override_url = override_url.rstrip("/") + "/" if override_url else None
        self.buckets = Buckets(rate)
        self.timeout_seconds = timeout
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.max_retries, self.max_retry_after = max_retries, max_retry_after
        self.max_bytes, self.user_agent = max_bytes, user_agent
        services = [*bootstrap.services.values(), *([self.override_url] if self.override_url else [])]
        self.redirects = RedirectPolicy(services, max_redirects)
        self._resolver = resolver  # None: aiohttp's default (tests inject one)
        self._guard: PublicOnlyResolver | None = None
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def base_url(self, domain: str) -> str | None:
        """Where this domain is looked up, or None when its TLD has no RDAP service."""
        return self.override_url or self.bootstrap.base_url(domain)

    def _client(self, guarded: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(guarded)
        if session is None or session.closed:
            resolver: AbstractResolver | None = self._resolver
            if guarded:
                self._guard = self._guard or PublicOnlyResolver(self._resolver)
                resolver = self._guard
            session = self._sessions[guarded] = aiohttp.ClientSession(
                timeout=self.timeout,
                headers={"Accept": ACCEPT, "User-Agent": self.user_agent},
                connector=aiohttp.TCPConnector(limit_per_host=4, resolver=resolver),
            )
        return session

    async def lookup(self, domain: str, base: str | None = None) -> RegistryObservation:
        base = base or self.base_url(domain)
        if base is None:
            return RegistryObservation(
                "rdap", "no-service", detail=f"no RDAP service for .{tld_of(domain)}")
        url = f"{base}domain/{domain}"
        for attempt in range(self.max_retries + 1):
            try:
                answer = await self._fetch(url, base)
            except _NoAnswer as failure:
                return RegistryObservation("rdap", failure.outcome, base, detail=failure.detail)
            if answer.status == 429:
                hint = answer.headers.get("Retry-After")
                wait = retry_after_seconds(hint)
                if wait is None:
                    wait, why = 2.0 ** attempt, "no usable Retry-After" if hint is None else (
                        f"Retry-After {hint[:40]!r} is neither seconds nor an HTTP date")
                else:
                    why = f"retry after {wait:.0f} s"
                if wait > self.max_retry_after or attempt == self.max_retries:
                    return RegistryObservation(
                        "rdap", "rate-limited", base,
                        detail=f"429 after {attempt + 1} tries, {why}")
                self.buckets[server_key(answer.url)].pause(wait)
                continue
            return self._observation(domain, base, answer)
        raise AssertionError("unreachable")  # the loop always returns

    async def _fetch(self, url: str, base: str) -> _Answer:
        """GET `url`, following the redirects the policy allows; raises `_NoAnswer`."""
        hop = self.redirects.first(url)
        for hops in range(self.redirects.max_hops + 1):
            await self.buckets[server_key(str(hop.url))].acquire()
            status, headers, body = await self._get(hop)
            if status not in REDIRECT_STATUSES:
                return _Answer(str(hop.url), status, headers, body, hops)
            if hops == self.redirects.max_hops:
                raise _NoAnswer("refused", f"more than {hops} redirects (the last to "
                                f"{headers.get('Location', '?')[:200]!r})")
            locations = headers.getall("Location", [])
            try:
                if len(locations) > 1:
                    raise RedirectRefused(f"redirect from {hop.url} with {len(locations)} Locations")
                hop = self.redirects.follow(hop.url, locations[0] if locations else None, base)
            except RedirectRefused as exc:
                raise _NoAnswer("refused", str(exc)) from None
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _get(self, hop: Hop) -> tuple[int, CIMultiDict[str], bytes]:
        server = server_key(str(hop.url))
        try:
            async with self._client(hop.guarded).get(hop.url, allow_redirects=False) as response:
                headers = CIMultiDict(response.headers)
                if response.status in REDIRECT_STATUSES:
                    return response.status, headers, b""  # the body of a redirect is not read
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(65_536):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise _NoAnswer(
                            "malformed", f"answer from {server} larger than {self.max_bytes} bytes")
                    chunks.append(chunk)
                return response.status, headers, b"".join(chunks)
        except TimeoutError:  # aiohttp's own timeouts are TimeoutErrors too
            raise _NoAnswer("timeout", f"no complete answer from {server} within "
                            f"{self.timeout_seconds:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddress):
                raise _NoAnswer("refused", f"redirect to {hop.url} not followed: "
                                f"{exc.os_error}") from None
            raise _NoAnswer("error", f"cannot connect to {server}: {exc.os_error}") from None
        except aiohttp.ClientError as exc:
            raise _NoAnswer("error", f"{type(exc).__name__} from {server}: {exc}"[:300]) from None

    def _observation(self, domain: str, base: str, answer: _Answer) -> RegistryObservation:
        via = f" (from {answer.url}, after {answer.hops} redirect(s))" if answer.hops else ""
        if answer.status == 404:
            return RegistryObservation("rdap", "not-found", base,
                                       detail="404: no such domain" + via)
        if answer.status != 200:
            return RegistryObservation("rdap", "error", base, detail=f"HTTP {answer.status}{via}")
        try:
            record = parse_domain(decode(answer.body), expected=domain)
        except Malformed as exc:
            return RegistryObservation("rdap", "malformed", base, detail=str(exc) + via)
        return RegistryObservation("rdap", "found", base, record=record, detail=via.strip())

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()
        if self._guard is not None:
            await self._guard.close()
            self._guard = None
        if sessions:
            # let the connector close its sockets before the loop goes away
            await asyncio.sleep(0)


def dump_bootstrap(data: dict[str, Any]) -> str:
    """The bootstrap file as text, one service per line (a refresh diffs readably)."""
    head = {k: v for k, v in data.items() if k != "services"}
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    services = ",\n".join("    " + json.dumps(s, ensure_ascii=False) for s in data["services"])
    return "{\n" + "\n".join(lines) + '\n  "services": [\n' + services + "\n  ]\n}\n"


async def fetch_bootstrap(url: str = IANA_BOOTSTRAP_URL, seconds: float = 30.0) -> dict[str, Any]:
    """Download and validate a bootstrap file (for `warden domain bootstrap`).

    Its hosts become the ones RDAP redirects may go to, so it is read as untrusted too:
    at most `MAX_BOOTSTRAP_BYTES`, JSON by `rdap_parse.decode` (`Malformed` is a ValueError).
    """
    timeout = aiohttp.ClientTimeout(total=seconds)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        response.raise_for_status()
        body = bytearray()
        async for chunk in response.content.iter_chunked(65_536):
            body += chunk
            if len(body) > MAX_BOOTSTRAP_BYTES:
                raise ValueError(f"the bootstrap file is larger than {MAX_BOOTSTRAP_BYTES} bytes")
    data = decode(bytes(body))
    Bootstrap.parse(data)  # raises ValueError if it is not one
    if not isinstance(data, dict):
        raise ValueError("not an RDAP bootstrap file")
    return data
