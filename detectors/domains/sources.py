"""Where the facts come from, built from the settings: the resolver and the registries.

A registry route is a short string, `"rdap <base url>"` or `"whois <host[:port]>"`,
stored in the sweep queue so that the registry stage can be claimed server by server
(each server has its own rate limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from detectors.domains.dns import DnsProbe
from detectors.domains.dnsclient import DnsClient, Polite, system_resolver
from detectors.domains.rdap import Bootstrap, RdapClient
from detectors.domains.registry import RegistryObservation
from detectors.domains.settings import DomainsSection, split_host_port
from detectors.domains.whois import WhoisClient

log = structlog.get_logger(__name__)


def make_probe(cfg: DomainsSection, resolver: str | None = None) -> DnsProbe:
    address = resolver or cfg.resolver
    host, port = split_host_port(address, 53) if address else system_resolver()
    client = DnsClient(host, port, cfg.dns_timeout_seconds, cfg.dns_attempts)
    if not cfg.dns_rate_per_second:
        return DnsProbe(client)
    return DnsProbe(Polite(client, cfg.dns_rate_per_second))


@dataclass
class Registries:
    """RDAP where the TLD has a service (or an override URL is set), WHOIS otherwise."""

    rdap: RdapClient
    whois: WhoisClient

    @classmethod
    def from_settings(cls, cfg: DomainsSection, rdap_url: str | None = None) -> Registries:
        rdap = RdapClient(
            Bootstrap.load(cfg.rdap_bootstrap),
            override_url=rdap_url or cfg.rdap_url,
            rate=cfg.rdap_rate_per_second,
            timeout=cfg.rdap_timeout_seconds,
            max_retries=cfg.rdap_max_retries,
            max_retry_after=cfg.rdap_max_retry_after_seconds,
            max_bytes=cfg.rdap_max_response_bytes,
            user_agent=cfg.user_agent,
        )
        whois = WhoisClient(
            cfg.whois_servers, override=cfg.whois_server, workers=cfg.whois_workers,
            rate=cfg.whois_rate_per_second, timeout=cfg.whois_timeout_seconds,
        )
        return cls(rdap, whois)

    def route(self, domain: str) -> str | None:
        base = self.rdap.base_url(domain)
        if base is not None:
            return f"rdap {base}"
        server = self.whois.server_for(domain)
        return None if server is None else f"whois {server}"

    async def lookup(self, domain: str, route: str | None = None) -> RegistryObservation:
        """Never raises: whatever goes wrong is an observation that is not evidence."""
        route = route or self.route(domain)
        try:
            return await self._lookup(domain, route)
        except Exception as exc:  # one domain's answer must not stop a sweep of thousands
            log.exception("registry.lookup_failed", domain=domain, route=route)
            source, _, server = (route or "whois ").partition(" ")
            why = f"lookup failed: {type(exc).__name__}: {exc}"[:300]
            return RegistryObservation(source, "error", server, detail=why)

    async def _lookup(self, domain: str, route: str | None) -> RegistryObservation:
        if route is None:
            return await self.whois.lookup(domain)  # says "no service" in its own words
        source, _, server = route.partition(" ")
        if source == "rdap":
            return await self.rdap.lookup(domain, server)
        return await self.whois.lookup(domain, server)

    async def close(self) -> None:
        await self.rdap.close()
        await self.whois.close()
