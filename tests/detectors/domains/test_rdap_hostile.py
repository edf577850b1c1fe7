"""RDAP from a hostile registry (issue #14): Retry-After of any text, redirects to
anywhere, poisoned bodies, against the RDAP double's fault injection.

Nothing leaves the machine: names that must resolve resolve through a table (`Table`),
and redirects that the policy would follow to the internet are refused before that.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.netdoubles import NetDoubles, RdapDomain
from bot.netdoubles.rdap import RdapDouble
from detectors.domains.egress import PublicOnlyResolver, RefusedAddress
from detectors.domains.ratelimit import retry_after_seconds
from detectors.domains.rdap import Bootstrap, RdapClient, fetch_bootstrap
from detectors.domains.redirects import RedirectPolicy, RedirectRefused
from detectors.domains.registry import derive_state

NOW = datetime(2026, 3, 2, tzinfo=UTC)
REGISTRY = "rdap.registry.test"  # an RDAP service of the bootstrap, as far as the client knows


class Table(AbstractResolver):
    """A resolver answering from a dict (nothing reaches real DNS); records who asked."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET,
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.answers:
            raise OSError(f"{host}: not in the test's table")
        return [ResolveResult(hostname=host, host=a, port=port, proto=0,
                              family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                              flags=socket.AI_NUMERICHOST) for a in self.answers[host]]

    async def close(self) -> None:
        return None


def rdap_client(base: str, *, services: dict[str, str] | None = None,
                resolver: AbstractResolver | None = None, **kw: Any) -> RdapClient:
    values: dict[str, Any] = {"override_url": base, "rate": 100.0, "timeout": 5.0,
                              "resolver": resolver or Table()}
    values.update(kw)
    return RdapClient(Bootstrap({"com": base, **(services or {})}), **values)


async def lookup(client: RdapClient, name: str = "example.com") -> Any:
    try:
        return await client.lookup(name)
    finally:
        await client.close()


# -- Retry-After (RFC 9110 section 10.2.3) ------------------------------------------------

@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("0000000000005", 5.0),
    pytest.param("9" * 5000, 1e9, id="5000-digits"),  # "never": no int() of 5,000 digits
    ("Wed, 21 Oct 2015 07:28:00 GMT", 1680.0),  # IMF-fixdate
    ("Wednesday, 21-Oct-15 07:28:00 GMT", 1680.0),  # obsolete RFC 850 form
    ("Wed Oct 21 07:28:00 2015", 1680.0),  # obsolete asctime form
    ("Tue, 20 Oct 2015 07:28:00 GMT", 0.0),  # in the past: now
    ("²", None), ("1²", None), ("٣", None), ("\uff11\uff12", None),  # not ASCII digits
    ("1.5", None), ("-1", None), ("+5", None), ("0x10", None), ("1e3", None), ("", None),
    ("Wed, 31 Feb 2015 07:28:00 GMT", None), ("21 Oct 2015 07:28:00 +0500", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT\x00", None), ("soon", None),
])
def test_retry_after_is_rfc9110_or_no_hint(value: str, seconds: float | None) -> None:
    assert retry_after_seconds(value, datetime(2015, 10, 21, 7, 0, tzinfo=UTC)) == seconds


async def test_unicode_digit_retry_after_is_no_hint_not_a_crash(doubles: NetDoubles) -> None:
    doubles.rdap.set_domain("example.com")
    doubles.rdap.throttle_next(1, "²")
    obs = await lookup(rdap_client(doubles.rdap.base_url, max_retries=0))
    assert (obs.outcome, obs.evidence) == ("rate-limited", False)
    assert "'²' is neither seconds nor an HTTP date" in obs.detail


async def test_retry_after_header_name_is_case_insensitive(doubles: NetDoubles) -> None:
    doubles.rdap.set_raw("example.com", 429, "{}", **{"retry-after": "0"})
    obs = await lookup(rdap_client(doubles.rdap.base_url, max_retries=1))
    (t1, _, _), (t2, _, _) = doubles.rdap.log
    assert obs.outcome == "rate-limited" and "retry after 0 s" in obs.detail
    assert t2 - t1 < 0.5  # "0" was read; no 1-second backoff as for a missing header


# -- redirects ----------------------------------------------------------------------------

async def test_redirect_to_another_loopback_port_is_refused(
    doubles: NetDoubles, victim: RdapDouble,
) -> None:
    doubles.rdap.set_redirect("example.com", f"{victim.base_url}admin/delete-everything")
    obs = await lookup(rdap_client(doubles.rdap.base_url))
    assert (obs.outcome, obs.evidence) == ("refused", False)
    assert "not https" in obs.detail and "admin/delete-everything" in obs.detail
    assert victim.log == []
    assert derive_state(obs, NOW, 30) == ("unknown", obs.detail)


@pytest.mark.parametrize(("location", "why"), [
    ("http://169.254.169.254/latest/meta-data/iam/", "not https"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("https://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is a private address"),
    ("https://[::ffff:169.254.169.254]/", "stands for 169.254.169.254"),
    ("https://10.0.0.1/", "10.0.0.1 is a private address"),
    ("https://evil.example/domain/example.com", "is not an RDAP service"),
    ("https://user:pw@rdap.registry.test/", "carries credentials"),
    ("javascript:alert(1)", "not an http(s) URL"),
    ("http://[::1", "unreadable redirect Location"),
])
async def test_redirects_off_the_allowed_hosts_are_refused_before_any_lookup(
    doubles: NetDoubles, location: str, why: str,
) -> None:
    table = Table({REGISTRY: ["127.0.0.1"]})
    doubles.rdap.set_redirect("example.com", location)
    obs = await lookup(rdap_client(doubles.rdap.base_url, resolver=table,
                                   services={"test": f"https://{REGISTRY}/"}))
    assert obs.outcome == "refused" and why in obs.detail
    assert table.asked == []  # refused on the URL: not even resolved
    assert [path for _, path, _ in doubles.rdap.log] == ["/domain/example.com"]


@pytest.mark.parametrize(("addresses", "why"), [
    (["127.0.0.1"], "127.0.0.1 is a loopback address"),
    (["169.254.169.254"], "169.254.169.254 is a link-local address"),
    (["fd00:ec2::254"], "fd00:ec2::254 is a private address"),
    (["192.168.1.20"], "192.168.1.20 is a private address"),
    (["8.8.8.8", "127.0.0.1"], "127.0.0.1 is a loopback address"),  # one bad address: none
])
async def test_a_bootstrap_host_resolving_inside_is_refused_at_connect(
    doubles: NetDoubles, victim: RdapDouble, addresses: list[str], why: str,
) -> None:
    port = URL(victim.base_url).port
    table = Table({REGISTRY: addresses})
    doubles.rdap.set_redirect("example.com", f"https://{REGISTRY}:{port}/domain/example.com")
    obs = await lookup(rdap_client(doubles.rdap.base_url, resolver=table,
                                   services={"test": f"https://{REGISTRY}:{port}/"}))
    assert obs.outcome == "refused" and f"{REGISTRY} resolves to {why}" in obs.detail
    assert table.asked == [REGISTRY]  # the name was resolved, and its address checked
    assert victim.log == []


async def test_redirects_under_the_configured_base_are_followed(doubles: NetDoubles) -> None:
    doubles.rdap.set_redirect("example.com", "/domain/example.com", times=2, then=RdapDomain())
    obs = await lookup(rdap_client(doubles.rdap.base_url))
    assert obs.outcome == "found" and "after 2 redirect(s)" in obs.detail
    assert len(doubles.rdap.log) == 3


async def test_redirect_hops_are_capped(doubles: NetDoubles) -> None:
    doubles.rdap.set_redirect("example.com", f"{doubles.rdap.base_url}domain/example.com",
                              status=307, times=100)
    obs = await lookup(rdap_client(doubles.rdap.base_url))
    assert obs.outcome == "refused" and "more than 3 redirects" in obs.detail
    assert len(doubles.rdap.log) == 4  # the request and three hops


def test_redirect_policy_keeps_loopback_to_the_configured_base() -> None:
    base = "http://127.0.0.1:8080/rdap/"
    policy = RedirectPolicy([base, "https://rdap.verisign.com/com/v1/"])
    here = URL(base + "domain/example.com")
    assert policy.follow(here, "/rdap/domain/EXAMPLE.COM", base).guarded is False
    hop = policy.follow(here, "https://rdap.verisign.com/com/v1/domain/example.com", base)
    assert hop.guarded is True  # another host: through the public-only resolver
    for location in ("/admin", "/rdap/%2e%2e/admin", "/rdap/..%2fadmin",
                     "http://127.0.0.1:8081/rdap/domain/x", "https://127.0.0.1:8080/rdap/x",
                     "http://localhost:8080/rdap/domain/x", "https://rdap.verisign.com:8443/x"):
        with pytest.raises(RedirectRefused):
            policy.follow(here, location, base)


async def test_public_only_resolver() -> None:
    public = PublicOnlyResolver(Table({"good.test": ["8.8.8.8", "2606:4700::1111"],
                                       "mixed.test": ["8.8.8.8", "100.64.0.1"],
                                       "nat64.test": ["64:ff9b::a9fe:a9fe"]}))
    assert [r["host"] for r in await public.resolve("good.test", 443)] == [
        "8.8.8.8", "2606:4700::1111"]
    for name, why in (("mixed.test", "100.64.0.1 is not a public address"),
                      ("nat64.test", "stands for 169.254.169.254")):
        with pytest.raises(RefusedAddress, match=why):
            await public.resolve(name, 443)


# -- crafted bodies -----------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "why"), [
    ("deep-nesting", "nested too deeply"), ("huge-number", "4300 digits"),
    ("invalid-utf8", "invalid UTF-8"), ("wrong-types", "'status' is a str"),
    ("nul-registrar", "NUL"), ("surrogate-registrar", "unpaired surrogate (U+D800)"),
    ("year-one", "out of range"), ("year-9999", "out of range"),
    ("many-nameservers", "more than 64"), ("long-registrar", "more than 255"),
    ("nan", "NaN is not a JSON number"),
])
async def test_poisoned_bodies_are_malformed_with_a_reason(
    doubles: NetDoubles, kind: str, why: str,
) -> None:
    doubles.rdap.set_hostile("example.com", kind)
    obs = await lookup(rdap_client(doubles.rdap.base_url))
    assert (obs.outcome, obs.evidence) == ("malformed", False)
    assert why in obs.detail and len(obs.detail) <= 400
    assert derive_state(obs, NOW, 30)[0] == "unknown"


async def test_timeout_says_what_and_how_long(doubles: NetDoubles) -> None:
    doubles.rdap.delay = 1.0
    obs = await lookup(rdap_client(doubles.rdap.base_url, timeout=0.2))
    assert obs.outcome == "timeout"
    assert obs.detail == f"no complete answer from {doubles.rdap.base_url.rstrip('/')} within 0.2 s"


async def test_bootstrap_refresh_reads_a_bounded_json_file(doubles: NetDoubles) -> None:
    # its hosts become those redirects may go to: read as untrusted like any answer
    good = doubles.rdap.base_url + "dns.json"
    assert (await fetch_bootstrap(good))["services"]
    doubles.rdap.set_hostile("deep.com", "deep-nesting")
    doubles.rdap.set_raw("big.com", 200, '{"services": [[["com"], ["https://r.test/"]]]}'
                         + " " * 1_000_000)
    for name, why in (("deep.com", "nested too deeply"), ("big.com", "larger than 1000000")):
        with pytest.raises(ValueError, match=why):
            await fetch_bootstrap(f"{doubles.rdap.base_url}domain/{name}")
