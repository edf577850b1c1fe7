"""Settings of the domain sweep: the `[domains]` section of warden.toml.

Every option has a working default, so the section is optional. Environment
variables are `WARDEN_DOMAINS_<OPTION>`; list options also accept a comma-separated
string there, and `whois_servers` a JSON object.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import NoDecode

PARKING_NAMESERVERS = (
    "sedoparking.com", "bodis.com", "parkingcrew.net", "afternic.com", "dan.com",
    "above.com", "parklogic.com", "hugedomains.com", "dsredirection.com", "ztomy.com",
    "uniregistrymarket.link", "domainmarket.com", "undeveloped.com",
)
MAILBOX_PROVIDERS = (
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com",
    "protonmail.com", "proton.me", "pm.me", "gmx.de", "gmx.net", "gmx.com", "web.de",
    "mail.com", "mail.ru", "yandex.ru", "yandex.com", "qq.com", "163.com", "126.com",
    "fastmail.com", "zoho.com", "tutanota.com", "hey.com", "free.fr", "orange.fr",
    "naver.com", "t-online.de", "posteo.de", "mailbox.org",
)
# Registries of popular ccTLDs that publish no RDAP service (port 43 only).
WHOIS_SERVERS = {
    "de": "whois.denic.de", "io": "whois.nic.io", "jp": "whois.jprs.jp",
    "cn": "whois.cnnic.cn", "ru": "whois.tcinet.ru", "su": "whois.tcinet.ru",
    "eu": "whois.eu", "ch": "whois.nic.ch", "li": "whois.nic.li", "at": "whois.nic.at",
    "au": "whois.auda.org.au", "it": "whois.nic.it", "es": "whois.nic.es",
    "se": "whois.iis.se", "nu": "whois.iis.nu", "dk": "whois.dk-hostmaster.dk",
    "be": "whois.dns.be", "kr": "whois.kr", "hk": "whois.hkirc.hk", "sg": "whois.sgnic.sg",
    "me": "whois.nic.me", "co": "whois.nic.co", "us": "whois.nic.us", "ie": "whois.weare.ie",
    "nz": "whois.irs.net.nz", "pt": "whois.dns.pt", "il": "whois.isoc.org.il",
    "lt": "whois.domreg.lt", "lv": "whois.nic.lv", "ee": "whois.tld.ee", "hu": "whois.nic.hu",
    "ro": "whois.rotld.ro",
}


def _names(value: Any) -> Any:
    # From the environment a list comes as JSON or as names separated by commas.
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [name.strip() for name in value.split(",") if name.strip()]
    return value


def _mapping(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _host_port(value: str | None) -> str | None:
    if value is not None:
        split_host_port(value, 53)  # raises ValueError with a clear message
    return value


def split_host_port(value: str, default_port: int) -> tuple[str, int]:
    """"host", "host:port", "[v6]:port" or a bare IPv6 address -> (host, port)."""
    text = value.strip()
    if not text:
        raise ValueError("empty address")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":") if rest else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"no host in {value!r}")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port in {value!r}")
    return host, int(port_text)


class DomainsSection(BaseModel):
    """Options of the maintainer email-domain sweep (see config/warden.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    sweep_time: str = Field(default="03:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    critical_every_days: int = Field(default=1, ge=1)
    everyone_every_days: int = Field(default=30, ge=1)
    registry_every_days: int = Field(default=30, ge=1)
    expiring_days: int = Field(default=30, ge=1)
    chunk_size: int = Field(default=2000, ge=1)
    lease_seconds: float = Field(default=300.0, gt=0)

    resolver: str | None = None
    dns_timeout_seconds: float = Field(default=2.0, gt=0)
    dns_attempts: int = Field(default=2, ge=1)
    dns_concurrency: int = Field(default=400, ge=1, le=10_000)
    # Questions per second to the resolver, on average (a polite client; 0: no limit).
    dns_rate_per_second: float = Field(default=50.0, ge=0)
    dns_query_mx: Literal["critical", "all", "none"] = "critical"
    dns_failures_before_registry: int = Field(default=3, ge=1)
    dns_retry_seconds: float = Field(default=30.0, ge=0)

    rdap_bootstrap: str | None = None
    rdap_url: str | None = None
    rdap_rate_per_second: float = Field(default=1.0, gt=0)
    rdap_timeout_seconds: float = Field(default=15.0, gt=0)
    rdap_max_retries: int = Field(default=3, ge=0)
    rdap_max_retry_after_seconds: float = Field(default=300.0, gt=0)
    rdap_max_response_bytes: int = Field(default=1_000_000, gt=0)
    user_agent: str = Field(default="index-warden/0.1 (maintainer domain check)", min_length=1)

    whois_server: str | None = None
    whois_servers: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(WHOIS_SERVERS)
    )
    whois_workers: int = Field(default=4, ge=1, le=64)
    whois_rate_per_second: float = Field(default=0.5, gt=0)
    whois_timeout_seconds: float = Field(default=10.0, gt=0)

    parking_nameservers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(PARKING_NAMESERVERS)
    )
    mailbox_providers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(MAILBOX_PROVIDERS)
    )

    _lists = field_validator("parking_nameservers", "mailbox_providers", mode="before")(
        lambda cls, value: _names(value)
    )
    _whois_map = field_validator("whois_servers", mode="before")(
        lambda cls, value: _mapping(value)
    )
    _addresses = field_validator("resolver", "whois_server")(
        lambda cls, value: _host_port(value)
    )

    @field_validator("rdap_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value
