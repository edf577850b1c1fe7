"""RDAP over aiohttp: the IANA bootstrap, per-server token buckets, 429 Retry-After.

The bootstrap file (RFC 9224) maps TLDs to RDAP base URLs; a copy is bundled
(`data/iana-rdap-dns.json`) and `warden domain bootstrap` refreshes it. A configured
`rdap_url` replaces the bootstrap: every query goes to `{rdap_url}/domain/{name}`.
Nothing here raises for registry trouble; it is all in the `RegistryObservation`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from detectors.domains.names import tld_of
from detectors.domains.ratelimit import Buckets, retry_after_seconds
from detectors.domains.rdap_parse import Malformed, parse_domain
from detectors.domains.registry import RegistryObservation

BUNDLED_BOOTSTRAP = Path(__file__).with_name("data") / "iana-rdap-dns.json"
IANA_BOOTSTRAP_URL = "https://data.iana.org/rdap/dns.json"
ACCEPT = "application/rdap+json, application/json;q=0.9"


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
        source = Path(path) if path else BUNDLED_BOOTSTRAP
        with source.open(encoding="utf-8") as fh:
            return cls.parse(json.load(fh))

    def base_url(self, domain: str) -> str | None:
        return self.services.get(tld_of(domain))


def server_key(url: str) -> str:
    """The rate-limit key of a URL: its scheme, host and port."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class RdapClient:
    """Looks domains up over RDAP, within each server's rate."""

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
        user_agent: str = "index-warden",
    ) -> None:
        self.bootstrap = bootstrap
        self.override_url = override_url.rstrip("/") + "/" if override_url else None
        self.buckets = Buckets(rate)
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.max_retries, self.max_retry_after = max_retries, max_retry_after
        self.max_bytes, self.user_agent = max_bytes, user_agent
        self._session: aiohttp.ClientSession | None = None

    def base_url(self, domain: str) -> str | None:
        """Where this domain is looked up, or None when its TLD has no RDAP service."""
        return self.override_url or self.bootstrap.base_url(domain)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout,
                headers={"Accept": ACCEPT, "User-Agent": self.user_agent},
                connector=aiohttp.TCPConnector(limit_per_host=4),
            )
        return self._session

    async def lookup(self, domain: str, base: str | None = None) -> RegistryObservation:
        base = base or self.base_url(domain)
        if base is None:
            return RegistryObservation(
                "rdap", "no-service", detail=f"no RDAP service for .{tld_of(domain)}")
        url = f"{base}domain/{domain}"
        bucket = self.buckets[server_key(base)]
        for attempt in range(self.max_retries + 1):
            await bucket.acquire()
            try:
                status, headers, body = await self._get(url)
            except TimeoutError:
                return RegistryObservation("rdap", "timeout", base, detail="no answer in time")
            except aiohttp.ClientError as exc:
                why = f"{type(exc).__name__}: {exc}"
                return RegistryObservation("rdap", "error", base, detail=why)
            except _TooLarge:
                return RegistryObservation(
                    "rdap", "malformed", base, detail=f"answer larger than {self.max_bytes} bytes")
            if status == 429:
                wait = retry_after_seconds(headers.get("Retry-After"))
                wait = 2.0 ** attempt if wait is None else wait
                if wait > self.max_retry_after or attempt == self.max_retries:
                    return RegistryObservation(
                        "rdap", "rate-limited", base, detail=f"429, retry after {wait:.0f} s")
                bucket.pause(wait)
                continue
            return self._observation(domain, base, status, body)
        raise AssertionError("unreachable")  # the loop always returns

    async def _get(self, url: str) -> tuple[int, dict[str, str], bytes]:
        async with self._client().get(url, max_redirects=3) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(65_536):
                size += len(chunk)
                if size > self.max_bytes:
                    raise _TooLarge
                chunks.append(chunk)
            return response.status, dict(response.headers), b"".join(chunks)

    def _observation(self, domain: str, base: str, status: int, body: bytes) -> RegistryObservation:
        if status == 404:
            return RegistryObservation("rdap", "not-found", base, detail="404: no such domain")
        if status != 200:
            return RegistryObservation("rdap", "error", base, detail=f"HTTP {status}")
        try:
            record = parse_domain(json.loads(body), expected=domain)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and Malformed too
            why = str(exc) if isinstance(exc, Malformed) else f"not JSON: {exc}"
            return RegistryObservation("rdap", "malformed", base, detail=why)
        return RegistryObservation("rdap", "found", base, record=record)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            # let the connector close its sockets before the loop goes away
            await asyncio.sleep(0)


class _TooLarge(Exception):
    pass


def dump_bootstrap(data: dict[str, Any]) -> str:
    """The bootstrap file as text, one service per line (a refresh diffs readably)."""
    head = {k: v for k, v in data.items() if k != "services"}
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    services = ",\n".join("    " + json.dumps(s, ensure_ascii=False) for s in data["services"])
    return "{\n" + "\n".join(lines) + '\n  "services": [\n' + services + "\n  ]\n}\n"


async def fetch_bootstrap(url: str = IANA_BOOTSTRAP_URL, seconds: float = 30.0) -> dict[str, Any]:
    """Download and validate a bootstrap file (for `warden domain bootstrap`)."""
    timeout = aiohttp.ClientTimeout(total=seconds)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        response.raise_for_status()
        data = json.loads(await response.read())
    Bootstrap.parse(data)  # raises ValueError if it is not one
    if not isinstance(data, dict):
        raise ValueError("not an RDAP bootstrap file")
    return data
